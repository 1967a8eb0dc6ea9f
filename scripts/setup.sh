#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian/Ubuntu machine with Python 3,
# Node and apt: the validators our tests run (cloud-init, shellcheck, systemd-analyze,
# promtool, yamllint, nginx, certbot, pebble, haproxy), a virtualenv with the package on both
# Terraform-CDK backends (cdktf and cdktn), and
# Chopsticks for the integration tests. Idempotent: a second run installs nothing.
# One line per step with its time, a heartbeat during long installs; the installers'
# own output goes to build/setup.log, which a failure points at (scripts/steps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/steps.sh
source scripts/steps.sh
steps_init

APT_PACKAGES=(cloud-init shellcheck systemd prometheus yamllint nginx certbot pebble openssl curl gnupg haproxy rclone)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=()
  [ "$(id -u)" -eq 0 ] || SUDO=(sudo)
  step "apt-get update" "${SUDO[@]}" apt-get update -q
  step "apt-get install ${missing[*]}" "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  step "create .venv" "$PYTHON" -m venv .venv
fi
# Both Terraform-CDK backends, so the tests run on each: CDK for Terraform (cdktf, the
# base dependency) and CDK Terrain (cdktn, the [cdktn] extra). See docs/backends.md.
# Editable install: code changes need no reinstall, only a changed pyproject.toml does.
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ -e "$stamp" ]; then
  steps_say "pip install -e .[test,cdktn]: up to date (pyproject.toml unchanged)"
else
  step "pip install -e .[test,cdktn]" .venv/bin/python -m pip install --disable-pip-version-check --progress-bar off -e ".[test,cdktn]"
  rm -f .venv/.installed-* && touch "$stamp"
fi

if [ "${1:-}" = "--with-node-tools" ]; then
  step "npm ci (Chopsticks for integration tests)" npm --prefix tests/js ci --no-audit --no-fund --loglevel=error
  # The deploy CLI README documents; tests/terraform drives it (docs/testing.md). Terraform
  # and the hashicorp/aws provider mirror come with the machine image (never downloaded).
  step "npx cdktf-cli@0.21 (cached for the Terraform tests)" npx --yes cdktf-cli@0.21 --version
fi
steps_done
