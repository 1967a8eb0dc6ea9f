#!/bin/bash
# In-place release upgrade and rollback of a single node, run as root by the node's
# SSM documents (constructs_substrate/upgrade.py, docs/substrate-node.md). The instance
# is never replaced: the data volume, node key, keystore and address stay as they are.
#
# upgrade: the new release is downloaded and verified by install-binaries.sh (pinned
#   SHA-256, or the GPG signature by the configured key plus the published .sha256)
#   into its own directory beside the running one. Only when that passed is the node
#   stopped, `current` switched to the new release (atomic renames) and the node
#   started. A verification failure leaves the running node untouched.
# rollback: switches back to the release the last upgrade left (`previous`).
#
# Both are health-gated: after the switch the node must be active, must not restart,
# and must answer JSON-RPC on 127.0.0.1 with the version of the binary now installed,
# HEALTH_SETTLE_CHECKS times in a row, within the timeout. Otherwise the switch is
# undone (the node restarted on the release it ran before) and the command fails.
# The release each switch selects is written to SELECTED_RELEASE_FILE, so a reboot
# keeps it. Re-running an upgrade to the release already running changes nothing.
#
# Environment: PREVIOUS_RELEASE, the link to the release the last upgrade left (the
# env file may set it too).
# Usage: upgrade-node.sh upgrade ENV_FILE RELEASE_TEMPLATE VERSION SHA256S TIMEOUT_S
#        upgrade-node.sh rollback ENV_FILE TIMEOUT_S
#   RELEASE_TEMPLATE: the release's definition (RELEASE_FILE of install-binaries.sh)
#     with "{version}" in its URLs; VERSION replaces it. SHA256S: one lowercase or
#     uppercase hex digest per artifact, space-separated, in artifact order, or empty
#     to verify by GPG signature.
set -euo pipefail

log() { printf '%s upgrade-node: %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

action=${1:?usage: upgrade-node.sh upgrade|rollback ENV_FILE ...}
env_file=${2:?the env file}
# shellcheck source=/dev/null  # the env file is rendered per node (constructs_substrate.bootstrap.env)
source "$env_file"
[[ -n ${SELECTED_RELEASE_FILE:-} ]] \
  || die "this instance was set up before in-place upgrades existed: replace it once (SubstrateNode replace_on_bootstrap_change=True)"
: "${PREVIOUS_RELEASE:?the SSM document sets it (constructs_substrate.layout.PREVIOUS_RELEASE)}"

readonly VERSION_PATTERN='^[A-Za-z0-9][A-Za-z0-9._+-]{0,79}$'
readonly RECORD=release.env  # a release's definition, beside its binaries (RELEASE_FILE)
readonly ROLLED_BACK=$PREVIOUS_RELEASE.rolled-back  # "FROM TO" of the last rollback
poll_seconds=${HEALTH_POLL_SECONDS:-5}
settle_checks=${HEALTH_SETTLE_CHECKS:-6}
installer=$SCRIPTS_DIR/install-binaries.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One upgrade or rollback at a time.
mkdir -p "${RELEASES_DIR%/*}"
exec 9>"${RELEASES_DIR%/*}/upgrade.lock"
flock --nonblock 9 || die "another upgrade or rollback is running"

running_version() {  # the release `current` points at, or nothing
  local target
  target=$(readlink "$CURRENT_RELEASE" 2>/dev/null) || return 0
  printf '%s' "${target##*/}"
}

restarts() { systemctl show --property=NRestarts --value "$NODE_SERVICE" 2>/dev/null || echo 0; }

rpc_version() {  # the node's system_version over JSON-RPC on localhost, or fails
  local response
  response=$(curl --silent --fail --max-time 5 -H 'Content-Type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"system_version","params":[]}' \
    "http://127.0.0.1:$RPC_PORT") || return 1
  python3 -c '
import json, sys
reply = json.loads(sys.stdin.read())
result = reply.get("result") if isinstance(reply, dict) else None
if not isinstance(result, str) or not result:
    sys.exit(1)
print(result)
' <<<"$response"
}

healthy() {  # healthy TIMEOUT_S: the gate; prints why it failed on stdout
  local limit=$1 deadline=$((SECONDS + $1)) baseline expected answered good=0
  baseline=$(restarts)
  expected=$(timeout 30 "$NODE_BINARY" --version 2>/dev/null | head -n 1) || expected=
  [[ -n $expected ]] || { echo "$NODE_BINARY --version printed nothing"; return 1; }
  while ((SECONDS < deadline)); do
    if systemctl is-failed --quiet "$NODE_SERVICE"; then
      echo "$NODE_SERVICE failed"; return 1
    fi
    # Restart=always: a node that exits waits RestartSec (120 s) in "auto-restart",
    # then counts a restart. Either way it exited: no need to wait for the deadline.
    if (($(restarts) > baseline)) \
      || [[ $(systemctl show --property=SubState --value "$NODE_SERVICE" 2>/dev/null) == auto-restart ]]; then
      echo "$NODE_SERVICE exited after the switch (systemd restarts it)"; return 1
    fi
    # The node itself, not the probe's /live: that remembers the last answer for
    # live_seconds, so right after the restart it may still vouch for the old process.
    if systemctl is-active --quiet "$NODE_SERVICE" && answered=$(rpc_version) && [[ $expected == *"$answered"* ]]; then
      good=$((good + 1))
      if ((good >= settle_checks)); then
        log "healthy: $NODE_SERVICE active, JSON-RPC answers version $answered ($good checks in a row)"
        return 0
      fi
    else
      good=0
    fi
    sleep "$poll_seconds"
  done
  echo "not healthy within ${limit} s (want: active, no restart, JSON-RPC on 127.0.0.1:$RPC_PORT answering the version of '$expected')"
  return 1
}

write_release() {  # write_release FILE: the release variables as they are now, sourceable
  local var
  {
    printf 'RELEASE_VERSION=%q\nGPG_FINGERPRINT=%q\nKEYSERVER=%q\n' "$RELEASE_VERSION" "$GPG_FINGERPRINT" "$KEYSERVER"
    for var in ARTIFACT_NAMES ARTIFACT_URLS ARTIFACT_SHA256S ARTIFACT_SHA256_URLS ARTIFACT_SIGNATURE_URLS; do
      local -n values=$var
      printf '%s=(%s)\n' "$var" "$(printf ' %q' "${values[@]}")"
      unset -n values
    done
  } > "$1.new"
  mv -f "$1.new" "$1"
}

ensure_record() {  # ensure_record VERSION: its definition beside it, to switch back to it later
  local record=$RELEASES_DIR/$1/$RECORD
  [[ ! -f $record ]] || return 0
  if [[ -f $SELECTED_RELEASE_FILE ]] && grep -qxF "RELEASE_VERSION=$(printf %q "$1")" "$SELECTED_RELEASE_FILE"; then
    cp "$SELECTED_RELEASE_FILE" "$record"  # installed again at boot: the record went with the old directory
  elif [[ $1 == "$RELEASE_VERSION" ]]; then
    write_release "$record"  # the user data's pin, as bootstrap.env has it
  else
    die "release $1 is running but its definition is unknown: upgrade to it by name first"
  fi
}

link() {  # link TARGET LINK: atomic (rename over the old link)
  ln -sfn "$1" "$2.new"
  mv -T "$2.new" "$2"
}

select_release() {  # select_release VERSION: node stopped, links switched, selection recorded, node started
  # Each step checked: this runs inside `if`, where errexit does not apply.
  local record=$RELEASES_DIR/$1/$RECORD
  systemctl stop "$NODE_SERVICE" || return 1
  # Verified again from its record (installed: no download), then the links switch.
  "$installer" "$env_file" "$record" || return 1
  cp "$record" "$SELECTED_RELEASE_FILE.new" && mv -f "$SELECTED_RELEASE_FILE.new" "$SELECTED_RELEASE_FILE" || return 1
  systemctl start "$NODE_SERVICE" 9>&-  # the lock stays here, whatever starts the node
}

switch_gated() {  # switch_gated FROM TO TIMEOUT_S: TO, or, if it is not healthy, FROM again and fail
  local from=$1 to=$2 reason back
  log "switching $NODE_SERVICE from $from to $to"
  if select_release "$to"; then
    reason=$(healthy "$3") && return 0
  else
    reason="switching to it failed (see the lines above)"
  fi
  log "release $to is not healthy: $reason; rolling back to $from"
  select_release "$from" || die "release $to failed ($reason) and switching back to $from failed too: the node needs a hand"
  back=$(healthy "$3") \
    || die "release $to failed its health gate ($reason); rolled back to $from, which is NOT healthy either: $back"
  die "release $to failed its health gate ($reason); rolled back: $from is running and healthy"
}

prune() {  # keep the running and the previous release only
  local dir keep_current keep_previous
  keep_current=$(readlink "$CURRENT_RELEASE")
  keep_previous=$(readlink "$PREVIOUS_RELEASE" 2>/dev/null || true)
  for dir in "$RELEASES_DIR"/*/; do
    [[ -d $dir ]] || continue
    dir=${dir%/}
    [[ $dir == "$keep_current" || $dir == "$keep_previous" ]] && continue
    log "removing release ${dir##*/} (neither running nor previous)"
    rm -rf "$dir"
  done
}

upgrade() {
  local template=$1 version=$2 sha256s=$3 timeout=$4 from i
  local -a pins
  [[ $version =~ $VERSION_PATTERN ]] || die "release version '$version' is not a release name (letters, digits, . _ + -)"
  [[ $timeout =~ ^[1-9][0-9]*$ ]] || die "health timeout '$timeout' is not a number of seconds"
  from=$(running_version)
  [[ -n $from ]] || die "no release is installed ($CURRENT_RELEASE is missing): the bootstrap installs the first one"
  ensure_record "$from"  # before the template replaces the env file's release variables
  # shellcheck source=/dev/null  # rendered into the SSM document (constructs_substrate/upgrade.py)
  source "$template"
  read -r -a pins <<<"${sha256s,,}"
  if ((${#pins[@]})); then
    ((${#pins[@]} == ${#ARTIFACT_NAMES[@]})) \
      || die "${#pins[@]} SHA-256 digests for ${#ARTIFACT_NAMES[@]} artifacts (${ARTIFACT_NAMES[*]}): give one per artifact, in this order"
    for i in "${!pins[@]}"; do
      [[ ${pins[i]} =~ ^[0-9a-f]{64}$ ]] || die "'${pins[i]}' is not a SHA-256 digest (64 hex digits)"
    done
    ARTIFACT_SHA256S=("${pins[@]}")
  else
    [[ -n $GPG_FINGERPRINT ]] || die "no SHA-256 digests given and the release has no GPG key: give sha256s"
    # shellcheck disable=SC2034  # read by write_release (through a nameref)
    for i in "${!ARTIFACT_NAMES[@]}"; do ARTIFACT_SHA256S[i]=; done
  fi
  RELEASE_VERSION=$version
  for i in "${!ARTIFACT_NAMES[@]}"; do
    ARTIFACT_URLS[i]=${ARTIFACT_URLS[i]//\{version\}/$version}
    ARTIFACT_SHA256_URLS[i]=${ARTIFACT_SHA256_URLS[i]//\{version\}/$version}
    ARTIFACT_SIGNATURE_URLS[i]=${ARTIFACT_SIGNATURE_URLS[i]//\{version\}/$version}
  done
  write_release "$work/release.env"

  if [[ $from == "$version" ]]; then
    # Never re-staged: that could replace the directory the node runs from.
    log "release $version is already running; nothing to install or switch"
    local reason
    reason=$(healthy "$timeout") || die "release $version is running but not healthy: $reason"
    return 0
  fi
  # Downloads and verifies next to the running release; the node keeps running.
  "$installer" --stage "$env_file" "$work/release.env" \
    || die "release $version was not installed (see the lines above); $from is still running, untouched"
  cp "$work/release.env" "$RELEASES_DIR/$version/$RECORD"
  switch_gated "$from" "$version" "$timeout"
  link "$RELEASES_DIR/$from" "$PREVIOUS_RELEASE"
  rm -f "$ROLLED_BACK"
  prune
  log "upgraded from $from to $version; roll back with the rollback document"
}

rollback() {
  local timeout=$1 from to
  [[ $timeout =~ ^[1-9][0-9]*$ ]] || die "health timeout '$timeout' is not a number of seconds"
  from=$(running_version)
  if [[ ! -L $PREVIOUS_RELEASE ]]; then
    if [[ -f $ROLLED_BACK && $(cut -d' ' -f2 "$ROLLED_BACK") == "$from" ]]; then
      log "already rolled back to $from (from $(cut -d' ' -f1 "$ROLLED_BACK")); nothing to do"
      return 0
    fi
    die "no previous release to roll back to (running ${from:-nothing}): an in-place upgrade records one"
  fi
  to=$(readlink "$PREVIOUS_RELEASE")
  to=${to##*/}
  [[ -f $RELEASES_DIR/$to/$RECORD ]] || die "the previous release $to is not installed in $RELEASES_DIR"
  ensure_record "$from"
  switch_gated "$from" "$to" "$timeout"
  # The release left stays installed: upgrading to it again needs no download.
  printf '%s %s\n' "$from" "$to" > "$ROLLED_BACK"
  rm -f "$PREVIOUS_RELEASE"
  log "rolled back from $from to $to"
}

case $action in
  upgrade) upgrade "${3:?release template}" "${4:?version}" "${5-}" "${6:?health timeout}" ;;
  rollback) rollback "${3:?health timeout}" ;;
  *) die "unknown action '$action' (upgrade or rollback)" ;;
esac
