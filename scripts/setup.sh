#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian/Ubuntu machine with Python 3,
# Node and apt: the validators our tests run (cloud-init, shellcheck, systemd-analyze,
# promtool, yamllint, nginx, certbot, pebble, haproxy), a virtualenv with the package on both
# Terraform-CDK backends (cdktf and cdktn), and
# Chopsticks for the integration tests. Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '%s setup: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

APT_PACKAGES=(cloud-init shellcheck systemd prometheus yamllint nginx certbot pebble openssl curl gnupg haproxy rclone)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  "$PYTHON" -m venv .venv
fi
# Both Terraform-CDK backends, so the tests run on each: CDK for Terraform (cdktf, the
# base dependency) and CDK Terrain (cdktn, the [cdktn] extra). See docs/backends.md.
log "pip install -e .[test,cdktn]"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test,cdktn]"

if [ "${1:-}" = "--with-node-tools" ]; then
  log "npm ci (Chopsticks for integration tests)"
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
  # The deploy CLI README documents; tests/terraform drives it (docs/testing.md). Terraform
  # and the hashicorp/aws provider mirror come with the machine image (never downloaded).
  log "npx cdktf-cli@0.21 (cached for the Terraform tests)"
  npx --yes cdktf-cli@0.21 --version >/dev/null 2>&1
fi
log "done"
