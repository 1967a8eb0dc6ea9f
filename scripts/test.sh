#!/usr/bin/env bash
# Installs everything and runs the whole test suite (unit, synth, tool checks,
# integration against a real Substrate JSON-RPC server) once per Terraform-CDK backend:
# CDK for Terraform (cdktf), then CDK Terrain (cdktn), chosen with
# CONSTRUCTS_SUBSTRATE_FRAMEWORK (docs/backends.md). Extra arguments go to pytest.
# SUBSTRATE_TEST_BACKENDS="cdktn" runs one pass only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-node-tools
# jsii prints an 11-line "Node 20 is end-of-life" banner at every start of its runtime
# (hundreds per run); this is jsii's own switch for it (docs/backends.md#nodejs).
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="${JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION:-20}"

status=0
for backend in ${SUBSTRATE_TEST_BACKENDS:-cdktf cdktn}; do
  printf '%s test: pytest on backend %s\n' "$(date -u +%H:%M:%S)" "$backend" >&2
  CONSTRUCTS_SUBSTRATE_FRAMEWORK="$backend" .venv/bin/python -m pytest "$@" || status=$?
done
exit "$status"
