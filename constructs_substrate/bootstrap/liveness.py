"""The liveness watcher an :class:`~constructs_substrate.cluster.AutoscalingApiCluster`
adds to every instance: replacement, not routing.

The group's health check type is ``EC2``, so a node failing its readiness check (chain
stalled, finality lagging, behind the network, clients saturating it) only leaves the
load balancer's rotation and is never terminated for it. What does get an instance
replaced, besides EC2's own status checks, is this watcher: ``substrate-liveness.service``
polls the probe's ``GET /live`` (200 while the node answers JSON-RPC at all) and, once
it has failed **continuously** for the liveness window, calls ``SetInstanceHealth``
(``Unhealthy``, respecting the grace period) through ``lifecycle_action.py unhealthy``,
**once**; then it stops asking (a marker under ``/run`` keeps it from asking again
until the next boot).

The window (default 300 s) is longer than a crash the node's own unit heals: the node
unit restarts after ``RestartSec=120`` and answers RPC again within about a minute, so
only a node dead or wedged for minutes is replaced. The unit starts after the launch
lifecycle unit has finished (the instance is in service, or the launch deadline has
passed), so a booting, restoring or syncing node is never judged.

Pure functions from the cluster config to files; the script is the same for every
cluster and reads its values from an env file (tests point the URLs at fakes).
"""

from __future__ import annotations

from .. import layout
from ..cluster.config import ApiClusterConfig
from . import paths
from .model import RenderedFile
from .sandbox import UNIT_SANDBOX
from .templating import shell_assignments, without_comments

LIVENESS_SERVICE = "substrate-liveness.service"
LIVENESS_SCRIPT = paths.script("liveness-watch.sh")
LIVENESS_ENV = f"{layout.CONFIG_DIR}/liveness.env"
LIVENESS_RUNTIME_DIR = "substrate-liveness"
REPORTED_FILE = f"/run/{LIVENESS_RUNTIME_DIR}/reported"
"""Written once SetInstanceHealth succeeded: a restarted watcher does not ask again
(``/run`` is cleared at boot)."""
LIFECYCLE_SERVICE = "substrate-lifecycle.service"
"""The launch lifecycle unit (bootstrap/cluster_extension.py); the watcher starts after it."""

LIVENESS_WATCH_SH = r"""#!/bin/bash
# Replacement, not routing: polls the probe's /live (200 while the node answers
# JSON-RPC at all) and, once it has failed continuously for WINDOW_SECONDS, reports
# this instance Unhealthy to its Auto Scaling group ONCE (SetInstanceHealth), then
# stops. A stalled chain, lagging or saturated node stays live: never replaced.
# Usage: liveness-watch.sh ENV_FILE
set -euo pipefail

# shellcheck source=/dev/null  # rendered per cluster (bootstrap/liveness.py)
source "$1"

log() { printf '%s liveness-watch: %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }

if [[ -e $REPORTED_FILE ]]; then
  log "already reported unhealthy on this boot; nothing to do"
  exit 0
fi
args=(unhealthy --group "$GROUP_NAME" --imds "$IMDS_URL")
[[ -z $ENDPOINT_URL ]] || args+=(--endpoint "$ENDPOINT_URL")
log "watching $PROBE_LIVE_URL (window ${WINDOW_SECONDS} s, every ${POLL_SECONDS} s)"
failing_since=
while true; do
  if curl --silent --fail --output /dev/null --max-time 5 "$PROBE_LIVE_URL"; then
    [[ -z $failing_since ]] || log "live again after $((SECONDS - failing_since)) s"
    failing_since=
  else
    if [[ -z $failing_since ]]; then
      failing_since=$SECONDS
      log "/live failed; replacing this instance if it keeps failing for ${WINDOW_SECONDS} s"
    fi
    if ((SECONDS - failing_since >= WINDOW_SECONDS)); then
      log "not live for $((SECONDS - failing_since)) s: reporting this instance unhealthy"
      if python3 "$ACTION_SCRIPT" "${args[@]}"; then
        touch "$REPORTED_FILE"
        log "reported; the group replaces this instance"
        exit 0
      fi
      log "SetInstanceHealth failed; trying again at the next poll"
    fi
  fi
  sleep "$POLL_SECONDS"
done
"""


def shipped_script() -> str:
    """The watcher as written to the instance (see :func:`.templating.without_comments`)."""
    return without_comments(LIVENESS_WATCH_SH, "constructs_substrate/bootstrap/liveness.py")


def liveness_unit() -> str:
    return f"""[Unit]
Description=Report this instance unhealthy when its node stays dead (not merely unready)
Documentation=file://{LIVENESS_SCRIPT}
Wants=network-online.target
After=network-online.target {LIFECYCLE_SERVICE} {layout.PROBE_SERVICE}

[Service]
ExecStart={LIVENESS_SCRIPT} {LIVENESS_ENV}
Restart=on-failure
RestartSec=30
DynamicUser=true
RuntimeDirectory={LIVENESS_RUNTIME_DIR}
RuntimeDirectoryPreserve=yes
UMask=0077
{UNIT_SANDBOX}
[Install]
WantedBy=multi-user.target
"""


def liveness_env(config: ApiClusterConfig, *, group_name: str, action_script: str, imds_url: str) -> dict[str, str | int]:
    """The values ``liveness-watch.sh`` reads. Tests point the URLs at local fakes."""
    return {
        "GROUP_NAME": group_name,
        "PROBE_LIVE_URL": f"http://127.0.0.1:{config.node.effective_ports.probe}/live",
        "WINDOW_SECONDS": config.liveness.window_seconds,
        "POLL_SECONDS": config.liveness.poll_seconds,
        "ACTION_SCRIPT": action_script,
        "IMDS_URL": imds_url,
        "ENDPOINT_URL": "",
        "REPORTED_FILE": REPORTED_FILE,
    }


def liveness_files(
    config: ApiClusterConfig, *, group_name: str, action_script: str, imds_url: str
) -> tuple[list[RenderedFile], tuple[str, ...]]:
    """The watcher's env file, script and unit, and the command that enables it
    (``--no-block``: it starts only after the lifecycle unit, which may wait hours)."""
    env = liveness_env(config, group_name=group_name, action_script=action_script, imds_url=imds_url)
    files = [
        RenderedFile(LIVENESS_ENV, "# Rendered by constructs_substrate.bootstrap.liveness.\n" + shell_assignments(env)),
        RenderedFile(LIVENESS_SCRIPT, shipped_script(), "0755"),
        RenderedFile(paths.unit(LIVENESS_SERVICE), liveness_unit()),
    ]
    return files, (f"systemctl enable --now --no-block {LIVENESS_SERVICE}",)


__all__ = ["LIVENESS_SERVICE", "liveness_env", "liveness_files", "liveness_unit"]
