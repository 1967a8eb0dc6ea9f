"""The bootstrap steps an :class:`~constructs_substrate.cluster.AutoscalingApiCluster`
adds to every instance (a :class:`BootstrapExtension`):

- ``substrate-lifecycle.service``: a sandboxed oneshot, run on every boot, that polls
  the readiness probe and completes the Auto Scaling launch lifecycle action only once
  ``/ready`` answers 200 (so the group never puts a syncing node in service), sends
  heartbeats when the wait may exceed 2 h, and abandons the launch at its deadline.
  The API calls are made by ``lifecycle_action.py`` (Python stdlib, SigV4 with the
  instance role from IMDSv2): Ubuntu 24.04 has no ``awscli`` package, and the AWS
  CLI snap would need the Snap Store at boot and privileges the unit's sandbox removes.
- ``substrate-launch-failed@.service``: started by systemd (``OnFailure=``, added to
  the install, node and restore units) the moment one of them fails. It runs the same
  script with the failed unit's name: the unit's last journal lines go to the
  journal as the reason, and the launch is abandoned at once, instead of holding
  the instance for the hook's timeout while nothing can become ready.
- with a ``snapshot``: ``substrate-restore.service``, a oneshot that the node's unit
  requires (drop-in), which chooses the database's source before the node first
  starts, fastest first, and logs each fallback: the data volume already holds one
  (created from the EBS snapshot in SSM) -> a public snapshot (``public_snapshot.py``)
  or an archive, downloaded, verified and moved into place, only into an empty
  database -> syncing from the network. It writes a marker last; the node's unit
  refuses to start without it, so never on a partial database.

Pure functions from the cluster config to files; the scripts are the same for every
cluster and read their values from an env file.
"""

from __future__ import annotations

from .. import layout
from ..cluster.config import ApiClusterConfig, ChainSnapshot
from . import paths
from .bundle import AWS_CLIENT
from .shipped import module_source
from .liveness import liveness_files
from .model import BootstrapExtension, RenderedFile
from .sandbox import UNIT_SANDBOX
from .templating import shell_assignments, without_comments

LIFECYCLE_SERVICE = "substrate-lifecycle.service"
LIFECYCLE_SCRIPT = paths.script("lifecycle-ready.sh")
LIFECYCLE_ACTION = AWS_CLIENT
"""Written by every bootstrap's boot stage (see bundle.py), not by this extension."""
LIFECYCLE_ENV = f"{layout.CONFIG_DIR}/lifecycle.env"
LAUNCH_FAILED_SERVICE = "substrate-launch-failed@.service"
"""Template: instance ``substrate-launch-failed@<failed unit>.service``."""
ON_FAILURE = "OnFailure=substrate-launch-failed@%n.service"
FAILURE_LOG_LINES = 15
"""How many of the failed unit's last journal lines are logged as the reason."""
MAX_NODE_RESTARTS = 3
"""Automatic node restarts (``NRestarts``, 2 min apart) after which a launching instance
is abandoned: its node crash-loops."""
RESTORE_SERVICE = "substrate-restore.service"
RESTORE_SCRIPT = paths.script("restore-snapshot.sh")
RESTORE_ENV = f"{layout.CONFIG_DIR}/restore.env"
RESTORE_MARKER = f"{layout.DATA_DIR}/.snapshot-restored"
"""Written last by the restore (JSON: the source used); the node's unit requires it."""
PUBLIC_SNAPSHOT_SCRIPT = paths.script("public_snapshot.py")
PUBLIC_UNAVAILABLE = 3
"""``public_snapshot.py``'s exit status when the source cannot be used (falls back)."""
NODE_DROP_IN = f"{paths.UNIT_DIR}/{layout.NODE_SERVICE}.d/restore-snapshot.conf"
NAME_DROP_IN = f"{paths.UNIT_DIR}/{layout.NODE_SERVICE}.d/instance-name.conf"
"""Every instance of a cluster runs the same NodeConfig: ``run-node`` appends the
instance id to ``--name`` so telemetry tells them apart."""
IMDS_URL = "http://169.254.169.254"
POLL_SECONDS = 10
RESTORE_CONNECTIONS = 16
"""aria2c's maximum connections per server (and splits): parallel, resumable download."""
RESTORE_MAX_TRIES = 10
"""aria2c ``--max-tries`` (10 s apart); a retry resumes where the download stopped."""

TAR_FLAGS = {
    "tar": (),
    "tar.gz": ("--gzip",),
    "tar.zst": ("--zstd",),
    "tar.lz4": ("--use-compress-program=lz4",),
}
ARCHIVE_PACKAGES = {"tar": (), "tar.gz": (), "tar.zst": ("zstd",), "tar.lz4": ("lz4",)}

LIFECYCLE_READY_SH = r"""#!/bin/bash
# Holds this instance out of service until its node is ready: polls the readiness
# probe and completes the launch lifecycle action (CONTINUE) once it answers 200,
# and only then. Not ready by the deadline: abandons the launch (ABANDON), and the
# group replaces the instance. Runs on every boot: an instance leaving a warm pool
# (the hook fires again) is held until it has caught up too.
# With a unit name (run by substrate-launch-failed@UNIT.service, OnFailure= of the
# install, node and restore units): that unit failed, so the node cannot become
# ready; logs the unit's last journal lines as the reason and abandons at once.
# Usage: lifecycle-ready.sh ENV_FILE [FAILED_UNIT]
set -euo pipefail

# shellcheck source=/dev/null  # rendered per cluster (bootstrap/cluster_extension.py)
source "$1"

log() { printf '%s lifecycle-ready: %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }

action() {
  local args=("$1" --group "$GROUP_NAME" --hook "$HOOK_NAME" --imds "$IMDS_URL")
  [[ -z $ENDPOINT_URL ]] || args+=(--endpoint "$ENDPOINT_URL")
  python3 "$ACTION_SCRIPT" "${args[@]}"
}

abandon_now() {  # retried: the instance cannot become ready, so do not wait for the hook
  for attempt in 1 2 3 4 5; do
    action abandon && exit 0
    log "abandon attempt $attempt failed"
    sleep $((attempt * 5))
  done
  exit 1
}

# A node that keeps crashing never reaches its start limit (RestartSec=120), so the
# wait counts its automatic restarts (best effort: systemctl may not reach systemd
# from the sandbox; then this check never fires and the deadline still applies).
crash_looping() {
  local restarts
  restarts=$(systemctl show --property=NRestarts --value "$NODE_UNIT" 2>/dev/null) || return 1
  [[ $restarts =~ ^[0-9]+$ ]] || return 1
  ((restarts >= MAX_NODE_RESTARTS)) || return 1
  log "$NODE_UNIT restarted $restarts times while launching (journalctl -u $NODE_UNIT); abandoning the launch now"
}

if [[ -n ${2:-} ]]; then
  unit=$2
  log "$unit failed; abandoning the launch now (the group replaces this instance). Its last log lines:"
  journalctl --unit="$unit" --lines="$LOG_LINES" --output=cat --no-pager 2>&1 | while IFS= read -r line; do
    log "$unit: $line"
  done || true
  abandon_now
fi

ready() {
  [[ $(curl --silent --output /dev/null --max-time 5 --write-out '%{http_code}' "$PROBE_URL") == 200 ]]
}

# The hook's clock started at launch: count the budget from boot, and stop a minute
# early so a late completion never races the hook's own timeout.
read -r uptime _ < "$UPTIME_FILE"
deadline=$((SECONDS + TIMEOUT_SECONDS - ${uptime%.*} - 60))
next_heartbeat=$((SECONDS + HEARTBEAT_SECONDS))
log "waiting for $PROBE_URL to answer 200 (at most $((deadline - SECONDS)) s)"
until ready; do
  if crash_looping; then
    abandon_now
  fi
  if ((SECONDS >= deadline)); then
    log "not ready in time; abandoning the launch (the group replaces this instance)"
    action abandon || log "abandon failed; the hook's own timeout will abandon it"
    exit 1
  fi
  if ((HEARTBEAT_SECONDS > 0 && SECONDS >= next_heartbeat)); then
    action heartbeat || log "heartbeat failed; trying again at the next interval"
    next_heartbeat=$((SECONDS + HEARTBEAT_SECONDS))
  fi
  sleep "$POLL_SECONDS"
done
log "the node is ready; completing the lifecycle action"
for attempt in 1 2 3 4 5; do
  action complete && exit 0
  log "attempt $attempt failed"
  sleep $((attempt * 10))
done
exit 1
"""

RESTORE_SNAPSHOT_SH = r"""#!/bin/bash
# Chooses the chain database's source before the node's first start, fastest first,
# logging each fallback, and writes the marker the node's unit requires LAST:
# 1. the data volume already holds a database (created from the EBS snapshot named in
#    SSM, or restored by an earlier boot): kept;
# 2. a public snapshot (PUBLIC_URL, Parity's layout): public_snapshot.py downloads it in
#    parallel, resumably, verified, into an EMPTY database, then writes the marker;
#    unavailable (exit 3): falls back to 4;
# 3. an archive (ARCHIVE_URL): parallel resumable download (aria2c), SHA-256 check,
#    extraction beside the data, then one rename into place;
# 4. none: the node syncs from the network (SYNC).
# A download or check that fails fails this unit: the node does not start.
# Usage: restore-snapshot.sh ENV_FILE
set -euo pipefail

# shellcheck source=/dev/null  # rendered per cluster (bootstrap/cluster_extension.py)
source "$1"

log() { printf '%s restore-snapshot: %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }
mark() {  # the marker goes last, in one rename
  printf '{"source": "%s"}\n' "$1" > "$MARKER.tmp"
  mv "$MARKER.tmp" "$MARKER"
}

target=$DATA_DIR/chains
work=$DATA_DIR/.restore
if [[ -d $target && -n $(ls -A "$target") ]]; then
  log "$target holds a database (from the EBS snapshot or an earlier restore); keeping it"
  mark volume
  exit 0
fi
if [[ -n $EBS_PARAMETER ]]; then
  log "no database on the data volume: no EBS snapshot in $EBS_PARAMETER yet; trying the next source"
fi
if [[ -n $PUBLIC_URL ]]; then
  status=0
  python3 "$PUBLIC_SCRIPT" --url "$PUBLIC_URL" --dest "$DATA_DIR/$PUBLIC_DIR" --work "$work" \
    --marker "$MARKER" --connections "$CONNECTIONS" --retries "$MAX_TRIES" || status=$?
  if ((status == 0)); then
    exit 0
  elif ((status == UNAVAILABLE)); then
    log "the public snapshot $PUBLIC_URL is unavailable; falling back to a $SYNC sync from the network"
    mark sync
    exit 0
  fi
  log "restoring the public snapshot failed (status $status); the node is not started"
  exit 1
fi
if [[ -z $ARCHIVE_URL ]]; then
  log "no snapshot to restore; the node syncs from the network ($SYNC sync)"
  mark sync
  exit 0
fi
mkdir -p "$work"
log "downloading $ARCHIVE_URL"
aria2c --continue=true --check-integrity=true --checksum="sha-256=$ARCHIVE_SHA256" \
  --max-tries="$MAX_TRIES" --retry-wait=10 --connect-timeout=20 --lowest-speed-limit=1K \
  --split="$CONNECTIONS" --max-connection-per-server="$CONNECTIONS" --min-split-size=64M \
  --file-allocation=none --auto-file-renaming=false --console-log-level=warn \
  --summary-interval=300 --dir="$work" --out=archive "$ARCHIVE_URL"
if ! printf '%s  %s\n' "$ARCHIVE_SHA256" "$work/archive" | sha256sum --check --status; then
  log "checksum mismatch: deleting the archive"
  rm -f "$work/archive"
  exit 1
fi
log "checksum verified; extracting"
rm -rf "$work/tree"
mkdir -p "$work/tree/$EXTRACT_TO"
tar --extract --no-same-owner --file="$work/archive" --directory="$work/tree/$EXTRACT_TO" "${TAR_FLAGS[@]}"
if [[ ! -d $work/tree/chains || -z $(ls -A "$work/tree/chains") ]]; then
  log "the archive extracted to nothing"
  exit 1
fi
[[ ! -d $target ]] || rmdir "$target"
mv "$work/tree/chains" "$target"
rm -rf "$work"
mark archive
log "database restored into $target"
"""



def lifecycle_unit() -> str:
    return f"""[Unit]
Description=Complete the Auto Scaling launch lifecycle action once the node is ready
Documentation=file://{LIFECYCLE_SCRIPT}
Wants=network-online.target
After=network-online.target {layout.PROBE_SERVICE}

[Service]
Type=oneshot
ExecStart={LIFECYCLE_SCRIPT} {LIFECYCLE_ENV}
# The script bounds itself by the lifecycle hook's timeout.
TimeoutStartSec=infinity
DynamicUser=true
UMask=0077
{UNIT_SANDBOX}
[Install]
WantedBy=multi-user.target
"""


BOOTSTRAP_UNIT = "cloud-final.service"
"""Runs cloud-init's runcmd, so bootstrap.sh: its journal holds the bootstrap's log."""

ON_FAILURE_SH = f"""#!/bin/bash
# Run by bootstrap.sh when one of its steps fails: the node cannot become ready, so
# abandon the launch at once; the reason is in {BOOTSTRAP_UNIT}'s journal.
set -euo pipefail
systemctl start --no-block {LAUNCH_FAILED_SERVICE.replace("@", "@" + BOOTSTRAP_UNIT)}
"""


def launch_failed_unit() -> str:
    """Started by ``OnFailure=``: root (no capabilities) only so that it can read the
    failed unit's journal, which a DynamicUser cannot; otherwise the same sandbox."""
    return f"""[Unit]
Description=Abandon the launch lifecycle action: %i failed
Documentation=file://{LIFECYCLE_SCRIPT}
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart={LIFECYCLE_SCRIPT} {LIFECYCLE_ENV} %i
TimeoutStartSec=5min
UMask=0077
{UNIT_SANDBOX}"""


def on_failure_drop_in() -> str:
    return f"""# Added by AutoscalingApiCluster: a failure abandons the launch at once.
[Unit]
{ON_FAILURE}
"""


def restore_unit() -> str:
    return f"""[Unit]
Description=Restore the chain database from a snapshot before the first start
Documentation=file://{RESTORE_SCRIPT}
Wants=network-online.target
After=network-online.target
Before={layout.NODE_SERVICE}
RequiresMountsFor={layout.DATA_DIR}
ConditionPathExists=!{RESTORE_MARKER}
{ON_FAILURE}

[Service]
Type=oneshot
RemainAfterExit=true
User={layout.SERVICE_USER}
ExecStart={RESTORE_SCRIPT} {RESTORE_ENV}
# Bounded by the lifecycle hook: a node not ready in time is replaced.
TimeoutStartSec=infinity
ReadWritePaths={layout.DATA_DIR}
UMask=0027
{UNIT_SANDBOX}"""


def node_drop_in() -> str:
    """The node starts only after the restore, and only once its marker exists (also when
    started by hand): never on a partial database."""
    return f"""# Added by AutoscalingApiCluster: restore the database before the node's first start.
[Unit]
Requires={RESTORE_SERVICE}
After={RESTORE_SERVICE}

[Service]
ExecStartPre=/usr/bin/test -f {RESTORE_MARKER}
"""


def public_snapshot_source() -> str:
    """``constructs_substrate/bootstrap/public_snapshot.py`` (the downloader) as shipped."""
    return module_source("constructs_substrate.bootstrap", "public_snapshot.py")


def lifecycle_env(config: ApiClusterConfig, *, group_name: str, hook_name: str) -> dict[str, str | int]:
    """The values ``lifecycle-ready.sh`` reads. Tests point the URLs at local fakes."""
    return {
        "GROUP_NAME": group_name,
        "HOOK_NAME": hook_name,
        "PROBE_URL": f"http://127.0.0.1:{config.node.effective_ports.probe}/ready",
        "TIMEOUT_SECONDS": config.lifecycle_timeout_seconds,
        "HEARTBEAT_SECONDS": config.heartbeat_interval_seconds,
        "POLL_SECONDS": POLL_SECONDS,
        "ACTION_SCRIPT": LIFECYCLE_ACTION,
        "IMDS_URL": IMDS_URL,
        "ENDPOINT_URL": "",
        "UPTIME_FILE": "/proc/uptime",
        "LOG_LINES": FAILURE_LOG_LINES,
        "NODE_UNIT": layout.NODE_SERVICE,
        "MAX_NODE_RESTARTS": MAX_NODE_RESTARTS,
    }


def restore_env(config: ApiClusterConfig) -> dict[str, str | int | tuple[str, ...]]:
    """The values ``restore-snapshot.sh`` reads."""
    snapshot = config.snapshot
    assert snapshot is not None
    return {
        "DATA_DIR": layout.DATA_DIR,
        "EBS_PARAMETER": snapshot.ssm_parameter_name or "",
        "PUBLIC_URL": snapshot.public_url or "",
        "PUBLIC_DIR": config.public_snapshot_dir or "",
        "PUBLIC_SCRIPT": PUBLIC_SNAPSHOT_SCRIPT,
        "UNAVAILABLE": PUBLIC_UNAVAILABLE,
        "SYNC": config.node.effective_sync or "full",
        "ARCHIVE_URL": snapshot.archive_url or "",
        "ARCHIVE_SHA256": snapshot.archive_sha256 or "",
        "CONNECTIONS": RESTORE_CONNECTIONS,
        "MAX_TRIES": RESTORE_MAX_TRIES,
        "EXTRACT_TO": snapshot.extract_to,
        "TAR_FLAGS": TAR_FLAGS[snapshot.archive_format or "tar"],
        "MARKER": RESTORE_MARKER,
    }


def shipped(text: str) -> str:
    """``text`` as it goes into the user data (see :func:`.templating.without_comments`)."""
    return without_comments(text, "constructs_substrate/bootstrap/cluster_extension.py")


def on_failure_drop_in_path(unit: str) -> str:
    return f"{paths.UNIT_DIR}/{unit}.d/abandon-launch.conf"


def _env(values) -> str:
    return "# Rendered by constructs_substrate.bootstrap.cluster_extension.\n" + shell_assignments(values)


def cluster_extension(config: ApiClusterConfig, *, group_name: str, hook_name: str) -> BootstrapExtension:
    """The files, packages and commands an instance of the cluster needs beyond a
    plain ``rpc``/``archive`` node. ``group_name`` and ``hook_name`` are the Auto
    Scaling group's and the launch hook's (known before the group exists)."""
    files = [
        RenderedFile(LIFECYCLE_ENV, _env(lifecycle_env(config, group_name=group_name, hook_name=hook_name))),
        RenderedFile(LIFECYCLE_SCRIPT, shipped(LIFECYCLE_READY_SH), "0755"),
        RenderedFile(paths.unit(LIFECYCLE_SERVICE), shipped(lifecycle_unit())),
        RenderedFile(paths.unit(LAUNCH_FAILED_SERVICE), shipped(launch_failed_unit())),
        RenderedFile(paths.ON_FAILURE_SCRIPT, shipped(ON_FAILURE_SH), "0755"),
        *(RenderedFile(on_failure_drop_in_path(unit), shipped(on_failure_drop_in()))
          for unit in (layout.INSTALL_SERVICE, layout.NODE_SERVICE)),
        RenderedFile(NAME_DROP_IN, "[Service]\nEnvironment=NODE_NAME_SUFFIX=instance-id\n"),
    ]
    # Replacement (not routing): the liveness watcher, see bootstrap/liveness.py.
    watcher, watch_commands = liveness_files(
        config, group_name=group_name, action_script=LIFECYCLE_ACTION, imds_url=IMDS_URL
    )
    files += watcher
    packages: tuple[str, ...] = ()
    snapshot = config.snapshot
    if snapshot is not None:
        files += [
            RenderedFile(RESTORE_ENV, _env(restore_env(config))),
            RenderedFile(RESTORE_SCRIPT, shipped(RESTORE_SNAPSHOT_SH), "0755"),
            RenderedFile(paths.unit(RESTORE_SERVICE), shipped(restore_unit())),
            RenderedFile(NODE_DROP_IN, shipped(node_drop_in())),
        ]
        if snapshot.public_url is not None:
            files.append(RenderedFile(PUBLIC_SNAPSHOT_SCRIPT, public_snapshot_source()))
        if snapshot.archive_url is not None:
            packages = ("aria2", *ARCHIVE_PACKAGES[snapshot.archive_format or "tar"])
    return BootstrapExtension(
        files=tuple(files),
        packages=packages,
        # --no-block: the unit may wait hours for the sync; the bootstrap must finish.
        commands=(f"systemctl enable --now --no-block {LIFECYCLE_SERVICE}", *watch_commands),
        # Without the bundle there is no lifecycle-ready.sh: the boot stage abandons itself.
        on_boot_failure=abandon_command(group_name, hook_name),
    )


def abandon_command(group_name: str, hook_name: str) -> tuple[str, ...]:
    """Abandon the launch lifecycle action with the boot stage's own AWS client."""
    return ("python3", LIFECYCLE_ACTION, "abandon", "--group", group_name, "--hook", hook_name, "--imds", IMDS_URL)


__all__ = [
    "LAUNCH_FAILED_SERVICE",
    "LIFECYCLE_SERVICE",
    "RESTORE_SERVICE",
    "cluster_extension",
    "launch_failed_unit",
    "lifecycle_env",
    "lifecycle_unit",
    "public_snapshot_source",
    "restore_env",
    "restore_unit",
]
