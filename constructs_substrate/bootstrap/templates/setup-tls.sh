#!/bin/bash
# nginx + Let's Encrypt: serve the HTTP-only site (ACME challenges, redirect), obtain
# the certificate, then switch to the TLS site. certbot keeps an existing certificate
# until it is due, so a re-run changes nothing. Renewal: the certbot package's timer.
# Usage: setup-tls.sh [ENV_FILE]
set -euo pipefail

env_file=${1:-@{env_file}}
# shellcheck source=/dev/null  # the env file is rendered per node (constructs_substrate.bootstrap.env)
source "$env_file"

log() { printf '%s setup-tls: %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }

readonly ATTEMPTS=10 RETRY_SECONDS=60

enable_site() {  # switch the one enabled site atomically, check, reload
  ln -sfn "$1" "$NGINX_ENABLED_SITE.new"
  mv -T "$NGINX_ENABLED_SITE.new" "$NGINX_ENABLED_SITE"
  nginx -t -q
  systemctl enable nginx.service
  systemctl reload-or-restart nginx.service
}

mkdir -p "$ACME_WEBROOT"
# The package's welcome page would answer for every other name.
rm -f "$NGINX_DEFAULT_SITE"
if [[ ! -s $TLS_CERT_FILE ]]; then
  enable_site "$NGINX_HTTP_SITE"
fi

# Retried: the DNS record may still be propagating on first boot.
for attempt in $(seq 1 "$ATTEMPTS"); do
  if "${CERTBOT_COMMAND[@]}"; then
    break
  fi
  (( attempt < ATTEMPTS )) || { log "ERROR: no certificate after $ATTEMPTS attempts"; exit 1; }
  log "certbot failed (attempt $attempt); retrying in ${RETRY_SECONDS}s"
  sleep "$RETRY_SECONDS"
done

enable_site "$NGINX_TLS_SITE"
systemctl enable --now certbot.timer
log "TLS site enabled"
