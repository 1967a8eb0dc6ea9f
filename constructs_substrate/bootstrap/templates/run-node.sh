#!/bin/bash
# ExecStart of the node unit: the flags come from the args file, one per line (so a
# value with spaces stays one argument); validators and bootnodes also announce their
# public (Elastic) IP. Usage: run-node [ENV_FILE]
set -euo pipefail

env_file=${1:-@{env_file}}
# shellcheck source=/dev/null  # the env file is rendered per node (constructs_substrate.bootstrap.env)
source "$env_file"

log() { printf '%s run-node: %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }

readonly IMDS=http://169.254.169.254/latest

public_ipv4() {
  # IMDSv2 (token first). Retried for ~5 minutes: the Elastic IP may be associated
  # after the instance has booted, and until then there is no public address.
  local attempt token ip
  for attempt in $(seq 1 30); do
    if token=$(curl --fail --silent --max-time 5 -X PUT \
        -H "X-aws-ec2-metadata-token-ttl-seconds: 60" "$IMDS/api/token") \
      && ip=$(curl --fail --silent --max-time 5 \
        -H "X-aws-ec2-metadata-token: $token" "$IMDS/meta-data/public-ipv4") \
      && [[ $ip =~ ^[0-9]+(\.[0-9]+){3}$ ]]; then
      printf '%s\n' "$ip"
      return 0
    fi
    log "no public IPv4 yet (attempt $attempt)"
    sleep 10
  done
  return 1
}

mapfile -t args < "$NODE_ARGS_FILE"
if [[ $ANNOUNCE_PUBLIC_ADDR == 1 ]]; then
  ip=$(public_ipv4) || { log "ERROR: no public IPv4 from the instance metadata"; exit 1; }
  # Flags after "--" belong to a parachain's embedded relay chain: insert before it.
  split=${#args[@]}
  for i in "${!args[@]}"; do
    if [[ ${args[i]} == -- ]]; then split=$i; break; fi
  done
  args=("${args[@]:0:split}" --public-addr "/ip4/$ip/tcp/$P2P_PORT" "${args[@]:split}")
fi
exec "$NODE_BINARY" "${args[@]}"
