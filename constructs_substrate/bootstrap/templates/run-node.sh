#!/bin/bash
# ExecStart of the node unit: the flags come from the args file, one per line (so a
# value with spaces stays one argument). Validators and bootnodes also announce their
# Elastic IP; a cluster instance (NODE_NAME_SUFFIX=instance-id, set by the cluster's
# drop-in) appends its instance id to --name. Usage: run-node [ENV_FILE]
set -euo pipefail

env_file=${1:-@{env_file}}
# shellcheck source=/dev/null  # the env file is rendered per node (constructs_substrate.bootstrap.env)
source "$env_file"

log() { printf '%s run-node: %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }

imds() {  # IMDSv2: a session token first, then GET latest/meta-data/$1
  local token
  token=$(curl --fail --silent --max-time 5 -X PUT \
    -H "X-aws-ec2-metadata-token-ttl-seconds: 60" "$IMDS_URL/latest/api/token") &&
    curl --fail --silent --max-time 5 -H "X-aws-ec2-metadata-token: $token" \
      "$IMDS_URL/latest/meta-data/$1"
}

elastic_ip() {
  # The instance is launched without a public IPv4 of its own
  # (associate_public_ip_address = false), so the first one the instance metadata
  # shows is the Elastic IP, once Terraform has associated it: wait for it, never
  # announce another address.
  local attempt ip
  for ((attempt = 1; attempt <= PUBLIC_IP_ATTEMPTS; attempt++)); do
    if ip=$(imds public-ipv4) && [[ $ip =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]; then
      printf '%s\n' "$ip"
      return 0
    fi
    log "the Elastic IP is not associated yet (attempt $attempt of $PUBLIC_IP_ATTEMPTS)"
    sleep "$PUBLIC_IP_RETRY_SECONDS"
  done
  return 1
}

mapfile -t args < "$NODE_ARGS_FILE"
# Flags after "--" belong to a parachain's embedded relay chain.
split=${#args[@]}
for i in "${!args[@]}"; do
  if [[ ${args[i]} == -- ]]; then split=$i; break; fi
done

if [[ ${NODE_NAME_SUFFIX:-} == instance-id ]]; then
  if ! id=$(imds instance-id) || ! [[ $id =~ ^i-[0-9a-f]{8,17}$ ]]; then
    log "ERROR: no instance id from the instance metadata"
    exit 1
  fi
  for ((i = 0; i < split - 1; i++)); do
    if [[ ${args[i]} == --name ]]; then args[i + 1]="${args[i + 1]}-$id"; break; fi
  done
fi

if [[ $ANNOUNCE_PUBLIC_ADDR == 1 ]]; then
  ip=$(elastic_ip) || { log "ERROR: no Elastic IP in the instance metadata"; exit 1; }
  args=("${args[@]:0:split}" --public-addr "/ip4/$ip/tcp/$P2P_PORT" "${args[@]:split}")
fi
exec "$NODE_BINARY" "${args[@]}"
