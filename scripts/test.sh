#!/usr/bin/env bash
# Installs everything and runs the whole test suite (unit, synth, tool checks,
# integration against a real Substrate JSON-RPC server). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-node-tools
exec .venv/bin/python -m pytest "$@"
