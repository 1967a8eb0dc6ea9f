#!/usr/bin/env bash
# Installs the library and synthesizes an example app (default: polkadot) into
# cdktf.out/, printing stacks, resources per stack and endpoints.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python "apps/${1:-polkadot}.py"
