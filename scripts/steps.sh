# shellcheck shell=bash
# Step logging for scripts/setup.sh (sourced): one line per step with its elapsed time,
# a heartbeat while a long step runs, the step's own output in a log file, and on failure
# the end of that output plus where the rest is.
#
#   source scripts/steps.sh
#   step "pip install" .venv/bin/python -m pip install ...
#
# STEPS_LOG: the log file (default build/setup.log, truncated by steps_init).
# STEPS_HEARTBEAT: seconds between "still running" lines (default 15).

STEPS_LOG=${STEPS_LOG:-build/setup.log}
STEPS_HEARTBEAT=${STEPS_HEARTBEAT:-15}
STEPS_PREFIX=${STEPS_PREFIX:-setup}
_steps_started=$SECONDS

steps_say() { printf '%s %s: %s\n' "$(date -u +%H:%M:%S)" "$STEPS_PREFIX" "$*" >&2; }

steps_init() {
  mkdir -p "$(dirname "$STEPS_LOG")"
  : >"$STEPS_LOG"
  _steps_started=$SECONDS
}

# step DESCRIPTION COMMAND [ARGS...]: run COMMAND with its output in $STEPS_LOG.
step() {
  local what=$1 started=$SECONDS pid status=0 waited=0
  shift
  steps_say "$what ..."
  printf '\n==> %s: %s\n' "$what" "$*" >>"$STEPS_LOG"
  "$@" >>"$STEPS_LOG" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    waited=$((SECONDS - started))
    if ((waited > 0 && waited % STEPS_HEARTBEAT == 0)); then
      steps_say "  ... $what still running (${waited} s)"
    fi
  done
  wait "$pid" || status=$?
  if ((status != 0)); then
    steps_say "$what FAILED (exit $status, $((SECONDS - started)) s); its last lines:"
    tail -n 15 "$STEPS_LOG" | sed 's/^/    /' >&2
    steps_say "full output: $STEPS_LOG"
    return "$status"
  fi
  steps_say "$what done ($((SECONDS - started)) s)"
}

steps_done() { steps_say "ready in $((SECONDS - _steps_started)) s (log: $STEPS_LOG)"; }
