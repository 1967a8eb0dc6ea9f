#!/bin/bash
# Installs the node release pinned in the env file, run by substrate-install.service
# on every boot. Each artifact is verified before anything is installed: against its
# pinned SHA-256, or against a GPG signature by the configured key fingerprint AND the
# release's published .sha256. On any failure it exits non-zero with nothing
# installed, and the node unit (Requires= this service) does not start.
# Usage: install-binaries.sh [--stage] [ENV_FILE [RELEASE_FILE]]
#   RELEASE_FILE: shell assignments replacing the env file's release (RELEASE_VERSION,
#     ARTIFACT_*, GPG_FINGERPRINT, KEYSERVER). Default: SELECTED_RELEASE_FILE when it
#     exists (the release an in-place upgrade or rollback chose: a reboot keeps it),
#     else the env file's pin.
#   --stage: download, verify and install the release directory, but leave `current`
#     and the binary links alone (upgrade-node.sh switches them once the node is stopped).
set -euo pipefail

stage=0
[[ ${1:-} != --stage ]] || { stage=1; shift; }
env_file=${1:-@{env_file}}
# shellcheck source=/dev/null  # the env file is rendered per node (constructs_substrate.bootstrap.env)
source "$env_file"

log() { printf '%s install-binaries: %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

release_file=${2:-}
[[ -n $release_file || ! -f $SELECTED_RELEASE_FILE ]] || release_file=$SELECTED_RELEASE_FILE
[[ -z $release_file ]] || log "release from $release_file"
# shellcheck source=/dev/null  # a release's definition (upgrade-node.sh): replaces the env file's pin
[[ -z $release_file ]] || source "$release_file"

release_dir=$RELEASES_DIR/$RELEASE_VERSION
readonly SUMS=SHA256SUMS  # recorded in the release directory after verification

fetch() {  # fetch URL FILE: HTTPS only, also after redirects (GitHub redirects to a CDN)
  # Retries every failure (HTTP 5xx/4xx, reset, timeout) with curl's exponential
  # backoff (1 s, 2 s, 4 s ... without --retry-delay), starting no retry after
  # DOWNLOAD_RETRY_MAX_TIME; an attempt slower than 1 KiB/s for a minute is cut off.
  curl --fail --silent --show-error --location --proto =https --proto-redir =https \
    --retry "$DOWNLOAD_RETRIES" --retry-all-errors --retry-max-time "$DOWNLOAD_RETRY_MAX_TIME" \
    --connect-timeout 20 --speed-limit 1024 --speed-time 60 \
    --output "$2" "$1" || die "download failed after $((DOWNLOAD_RETRIES + 1)) attempts: $1"
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

release_verified() {
  # Installed earlier: every artifact recorded, matching its pin, and unchanged on disk.
  local i name recorded
  [[ -f $release_dir/$SUMS ]] || return 1
  for i in "${!ARTIFACT_NAMES[@]}"; do
    name=${ARTIFACT_NAMES[i]}
    recorded=$(awk -v n="$name" '$2 == n { print $1 }' "$release_dir/$SUMS")
    [[ -n $recorded ]] || return 1
    [[ -z ${ARTIFACT_SHA256S[i]} || $recorded == "${ARTIFACT_SHA256S[i]}" ]] || return 1
  done
  (cd "$release_dir" && sha256sum --check --strict --quiet "$SUMS" >/dev/null 2>&1)
}

verify_gpg() {  # verify_gpg FILE SIGNATURE
  local status
  # --status-fd gives machine-readable results: require a good signature made by the
  # configured key (VALIDSIG carries the signing key's fingerprint, then its primary
  # key's), not merely exit status 0, which any key in the keyring would give.
  status=$(gpg --batch --status-fd 1 --verify "$2" "$1" 2>/dev/null) || return 1
  grep -q '^\[GNUPG:\] GOODSIG ' <<<"$status" || return 1
  awk -v fpr="$GPG_FINGERPRINT" '$2 == "VALIDSIG" && ($3 == fpr || $NF == fpr) { ok = 1 } END { exit !ok }' <<<"$status"
}

download_and_verify() {  # into $work, one artifact per index
  local i name file expected published
  for i in "${!ARTIFACT_NAMES[@]}"; do
    name=${ARTIFACT_NAMES[i]}
    file=$work/files/$name
    log "downloading $name"
    fetch "${ARTIFACT_URLS[i]}" "$file"
    if [[ -n ${ARTIFACT_SHA256S[i]} ]]; then
      printf '%s  %s\n' "${ARTIFACT_SHA256S[i]}" "$file" | sha256sum --check --strict --quiet \
        || die "$name: SHA-256 does not match the pinned value"
    else
      fetch "${ARTIFACT_SIGNATURE_URLS[i]}" "$work/$name.asc"
      fetch "${ARTIFACT_SHA256_URLS[i]}" "$work/$name.sha256"
      verify_gpg "$file" "$work/$name.asc" || die "$name: no valid signature by $GPG_FINGERPRINT"
      read -r published _ < "$work/$name.sha256" || true
      published=${published%$'\r'}
      expected=$(sha256_of "$file")
      [[ ${published,,} == "$expected" ]] || die "$name: SHA-256 differs from the published .sha256"
    fi
    log "$name verified"
  done
}

install_release() {
  # Stage next to the target, then rename: a half-copied release is never visible.
  local staging=$release_dir.partial name
  rm -rf "$staging" "$release_dir"
  mkdir -p "$staging"
  # Runs as root: everything created here is root-owned.
  for name in "${ARTIFACT_NAMES[@]}"; do
    install -m 0755 "$work/files/$name" "$staging/$name"
  done
  (cd "$staging" && sha256sum "${ARTIFACT_NAMES[@]}" > "$SUMS")
  mv -T "$staging" "$release_dir"
}

switch_links() {
  # Atomic switches (rename over the old link): the node sees the old or the new release.
  local name
  ln -sfn "$release_dir" "$CURRENT_RELEASE.new"
  mv -T "$CURRENT_RELEASE.new" "$CURRENT_RELEASE"
  mkdir -p "$BIN_DIR"
  for name in "${ARTIFACT_NAMES[@]}"; do
    ln -sfn "$CURRENT_RELEASE/$name" "$BIN_DIR/$name.new"
    mv -T "$BIN_DIR/$name.new" "$BIN_DIR/$name"
  done
}

install_chain_spec() {
  [[ -n $CHAIN_SPEC_URL ]] || return 0
  if [[ -f $CHAIN_SPEC_FILE && $(sha256_of "$CHAIN_SPEC_FILE") == "$CHAIN_SPEC_SHA256" ]]; then
    return 0
  fi
  log "downloading the chain spec"
  fetch "$CHAIN_SPEC_URL" "$work/chain-spec.json"
  printf '%s  %s\n' "$CHAIN_SPEC_SHA256" "$work/chain-spec.json" | sha256sum --check --strict --quiet \
    || die "chain spec: SHA-256 does not match the pinned value"
  install -m 0644 "$work/chain-spec.json" "$CHAIN_SPEC_FILE.new"
  mv -f "$CHAIN_SPEC_FILE.new" "$CHAIN_SPEC_FILE"
}

import_key() {
  # A throwaway keyring holding only the release key: the one shipped in the user
  # data (GPG_KEY_FILE), else what the keyserver returns for the fingerprint. Either
  # way verify_gpg accepts only signatures by GPG_FINGERPRINT.
  local attempt
  export GNUPGHOME=$work/gnupg
  mkdir -m 0700 "$GNUPGHOME"
  if [[ -n $GPG_KEY_FILE ]]; then
    gpg --batch --quiet --import "$GPG_KEY_FILE" || die "cannot import the release key $GPG_KEY_FILE"
  else
    log "no release key shipped: fetching $GPG_FINGERPRINT from $KEYSERVER"
    # Retried like the downloads: 2 s, 4 s ... at most a minute apart.
    for ((attempt = 1; ; attempt++)); do
      gpg --batch --quiet --keyserver "$KEYSERVER" --recv-keys "$GPG_FINGERPRINT" && break
      ((attempt <= DOWNLOAD_RETRIES)) || die "cannot fetch key $GPG_FINGERPRINT from $KEYSERVER ($attempt attempts)"
      sleep $((attempt < 6 ? 2 ** attempt : 60))
    done
  fi
  gpg --batch --list-keys "$GPG_FINGERPRINT" >/dev/null 2>&1 || die "no key $GPG_FINGERPRINT in the keyring"
}

work=$(mktemp -d)
cleanup() {
  if [[ -n ${GNUPGHOME:-} ]]; then gpgconf --kill all >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

install_chain_spec
if release_verified; then
  log "release $RELEASE_VERSION is installed and verified; nothing to download"
else
  mkdir -p "$work/files"
  if [[ -n $GPG_FINGERPRINT ]]; then
    import_key
  fi
  download_and_verify
  mkdir -p "$RELEASES_DIR"
  install_release
  log "release $RELEASE_VERSION installed"
fi
# Staged: upgrade-node.sh switches once the node is stopped.
((stage)) || switch_links
