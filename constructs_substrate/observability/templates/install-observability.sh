#!/bin/bash
# Installs the observability agents (constructs_substrate.observability); idempotent.
set -euo pipefail
host_env=@{host_env}
fluent_bit_version=@{fluent_bit_version}
fingerprint=@{fluent_bit_key_fingerprint}
keyring=@{fluent_bit_keyring}
repo=@{fluent_bit_repo}
sources=@{sources_list}

md=http://169.254.169.254/latest
token=$(curl -fsS --retry 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "$md/api/token")
imds() { curl -fsS --retry 5 -H "X-aws-ec2-metadata-token: $token" "$md/meta-data/$1"; }
printf 'INSTANCE_ID=%s\nAWS_REGION=%s\n' "$(imds instance-id)" "$(imds placement/region)" >"$host_env"

enable_pinned() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold "$1"
  systemctl daemon-reload
  systemctl enable "${1%%=*}"
  systemctl restart "${1%%=*}" || echo "${1%%=*} is not running yet; systemd retries" >&2
}
enable_pinned prometheus=@{prometheus_version}
[[ -n $fluent_bit_version ]] || exit 0

if [[ ! -s $keyring ]]; then
  GNUPGHOME=$(mktemp -d)
  export GNUPGHOME
  curl -fsSL --retry 5 -o "$GNUPGHOME/key" https://packages.fluentbit.io/fluentbit.key
  keys=$(gpg --batch --show-keys --with-colons "$GNUPGHOME/key")
  if [[ $(grep -c '^pub:' <<<"$keys") != 1 || $(awk -F: '$1 == "fpr" { print $10; exit }' <<<"$keys") != "$fingerprint" ]]; then
    echo "refusing the downloaded Fluent Bit key: it is not $fingerprint" >&2
    exit 1
  fi
  gpg --batch --dearmor <"$GNUPGHOME/key" >"$keyring.new"
  mv -f "$keyring.new" "$keyring"
fi
echo "deb [signed-by=$keyring] $repo noble main" >"$sources"
apt-get update -q -o Dir::Etc::sourcelist="$sources" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
enable_pinned "fluent-bit=$fluent_bit_version"
