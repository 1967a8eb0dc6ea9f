#!/bin/bash
# First-boot orchestrator, run by cloud-init (runcmd). Every step is idempotent, so
# a re-run changes nothing on a node that is already set up; after the first boot
# systemd alone brings the node back (the units below are enabled).
# Usage: bootstrap.sh [ENV_FILE]
set -euo pipefail

env_file=${1:-@{env_file}}
# shellcheck source=/dev/null  # the env file is rendered per node (constructs_substrate.bootstrap.env)
source "$env_file"

log() { printf '%s bootstrap: %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }

# Any failing step: say where in the log, then run the failure hook an extension may
# have written (AutoscalingApiCluster: abandon the launch at once). A failed install
# is reported by its unit instead (OnFailure=), see step 3.
set -o errtrace
failed() {
  log "ERROR: the bootstrap failed at line $1 (exit status $2); nothing after it ran"
  [[ ! -x $ON_FAILURE_SCRIPT ]] || "$ON_FAILURE_SCRIPT" || log "the failure hook failed too"
}
trap 'failed $LINENO $?' ERR

generate_node_key() {
  # The key never leaves this host and is never printed: the binary writes it to the
  # file (stdout, where a key would be printed without --file, is discarded).
  [[ -n $NODE_KEY_FILE && ! -s $NODE_KEY_FILE ]] || return 0
  log "generating the node key on this machine"
  rm -f "$NODE_KEY_FILE.new"
  runuser -u "$SERVICE_USER" -- "$NODE_BINARY" key generate-node-key --file "$NODE_KEY_FILE.new" >/dev/null
  chmod 0600 "$NODE_KEY_FILE.new"
  mv -f "$NODE_KEY_FILE.new" "$NODE_KEY_FILE"
}

log "step 1: data volume"
"$PREPARE_VOLUME_SCRIPT" "$env_file"
systemctl daemon-reload

log "step 2: node_exporter"
systemctl enable prometheus-node-exporter.service
systemctl restart prometheus-node-exporter.service

if [[ $RUNS_NODE == 1 ]]; then
  log "step 3: install and verify release $RELEASE_VERSION"
  systemctl enable "$INSTALL_SERVICE"
  # A failure stops the bootstrap here (the node never runs an unverified release);
  # the reason is in the unit's journal.
  systemctl start "$INSTALL_SERVICE" || { log "ERROR: see journalctl -u $INSTALL_SERVICE"; exit 1; }
  generate_node_key
  log "step 4: start the node"
  # Fails when a unit it requires failed (that unit reports it, like the install).
  systemctl enable --now "$NODE_SERVICE" || { log "ERROR: see journalctl -u $NODE_SERVICE"; exit 1; }
fi

if [[ $PROBE == 1 ]]; then
  log "step 5: readiness probe"
  systemctl enable --now "$PROBE_SERVICE"
fi

if [[ $TELEMETRY == 1 ]]; then
  log "step 5: telemetry server"
  systemctl enable --now docker.service
  for unit in "${TELEMETRY_UNITS[@]}"; do
    systemctl enable --now "$unit"
  done
fi

if [[ $TLS == 1 ]]; then
  log "step 6: TLS certificate and nginx"
  "$SETUP_TLS_SCRIPT" "$env_file"
fi

if [[ -x $EXTENSIONS_SCRIPT ]]; then
  log "step 7: extension steps"
  "$EXTENSIONS_SCRIPT"
fi

log "done"
