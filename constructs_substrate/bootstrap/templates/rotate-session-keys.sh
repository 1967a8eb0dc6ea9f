#!/bin/bash
# Rotates this validator's session keys ON the machine (author_rotateKeys on the local
# RPC) and prints only the result: the new PUBLIC session keys, concatenated, to
# register on chain with session.setKeys. The secret keys stay in the node's keystore
# on the data volume; nothing secret is ever printed. Run through SSM Run Command.
# Usage: rotate-session-keys.sh [ENV_FILE]
set -euo pipefail

env_file=${1:-@{env_file}}
# shellcheck source=/dev/null  # the env file is rendered per node (constructs_substrate.bootstrap.env)
source "$env_file"

response=$(curl --fail --silent --show-error --max-time 60 \
  -H 'Content-Type: application/json' \
  --data '{"jsonrpc":"2.0","id":1,"method":"author_rotateKeys","params":[]}' \
  "http://127.0.0.1:$RPC_PORT")

# JSON-RPC errors arrive with HTTP 200: accept only a hex "result".
python3 -c '
import json, re, sys
reply = json.loads(sys.stdin.read())
result = reply.get("result") if isinstance(reply, dict) else None
if not isinstance(result, str) or not re.fullmatch(r"0x[0-9a-fA-F]+", result):
    error = reply.get("error") if isinstance(reply, dict) else None
    sys.exit("author_rotateKeys failed: " + (json.dumps(error) if error else "no result"))
print(result)
' <<<"$response"
