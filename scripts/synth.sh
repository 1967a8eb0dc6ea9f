#!/usr/bin/env bash
# Installs the library (scripts/setup.sh: a line per step, details in build/setup.log) and
# synthesizes an example app (default: polkadot) into cdktf.out/, printing a one-screen
# summary: stacks, estimated cost, endpoints, warnings, the deploy command. Extra
# arguments go to the app (--verbose: resource counts and cost line items).
#   bash scripts/synth.sh [app] [--verbose]
set -euo pipefail
cd "$(dirname "$0")/.."
app=polkadot
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  app=$1
  shift
fi
bash scripts/setup.sh
# jsii's Node-version banner (docs/backends.md#nodejs); the library sets the same default.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="${JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION:-20}"
exec .venv/bin/python "apps/${app}.py" "$@"
