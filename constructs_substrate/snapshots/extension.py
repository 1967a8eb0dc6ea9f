"""The bootstrap steps a :class:`~constructs_substrate.snapshots.SnapshotSource` adds
to its node (a :class:`~constructs_substrate.bootstrap.BootstrapExtension`):

- ``snapshot_producer.py`` (this package's ``producer.py``); it imports the
  SigV4 client ``lifecycle_action.py`` that every node's boot stage ships beside it
  (:data:`~constructs_substrate.bootstrap.bundle.AWS_CLIENT`, the client the clusters'
  lifecycle scripts call too);
- its configuration as JSON (``/etc/substrate/snapshot-source.json``), everything known
  at synthesis (the volume is found at run time by its attachment to the instance,
  the region and credentials come from IMDSv2);
- ``substrate-snapshot.service`` (oneshot) and ``substrate-snapshot.timer``: first run
  ``FIRST_RUN`` after boot, then ``TICK`` after the end of each run (runs never
  overlap); a run snapshots only when the node is synced and the published snapshot is
  older than ``interval_hours`` (or there is none), so the first snapshot follows the
  first sync within a tick.

Pure functions from the config to files.
"""

from __future__ import annotations

import json

from .. import layout
from ..bootstrap import BootstrapExtension, RenderedFile
from ..bootstrap import paths
from ..bootstrap.bundle import AWS_CLIENT
from ..bootstrap.shipped import module_source
from ..bootstrap.sandbox import UNIT_SANDBOX
from ..bootstrap.templating import without_comments
from ..node import DATA_DEVICE_NAME
from .config import SnapshotSourceConfig, pruning_tag

SERVICE = "substrate-snapshot.service"
TIMER = "substrate-snapshot.timer"
PRODUCER = paths.script("snapshot_producer.py")
assert AWS_CLIENT.rsplit("/", 1)[0] == PRODUCER.rsplit("/", 1)[0], "the producer imports the client from its folder"
CONFIG_FILE = f"{layout.CONFIG_DIR}/snapshot-source.json"
ORIGIN = "constructs_substrate/snapshots/extension.py"
IMDS_URL = "http://169.254.169.254"
FIRST_RUN = "15min"
"""After boot: long enough for the install, short enough for a source restarted synced."""
TICK = "30min"
"""How often the producer looks; it snapshots every ``interval_hours`` at most."""
RANDOM_DELAY = "5min"
"""Spreads the sources of several chains in a region (their API calls, their I/O)."""
POLL_SECONDS = 30
STOP_TIMEOUT_SECONDS = 300
"""Bound on each ``systemctl`` call; above systemd's stop timeout (90 s by default),
after which the node would be killed (the producer then refuses to snapshot)."""
SANDBOX = "\n".join(line for line in UNIT_SANDBOX.splitlines() if line != "PrivateUsers=true") + "\n"
"""The small units' sandbox, but in the host's user namespace: the unit runs as root
(no capabilities) only to ask systemd to stop and start the node."""


def producer_config(config: SnapshotSourceConfig, *, source: str) -> dict:
    """What ``snapshot_producer.py`` reads. Tests point the URLs and ``systemctl`` at fakes."""
    node = config.node
    return {
        "source": source,
        "chain": node.chain.name,
        "database": node.database,
        "pruning": pruning_tag(node),
        "parameter": config.effective_parameter_name,
        "retain": config.retain,
        "interval_seconds": config.interval_hours * 3600,
        "rpc_url": f"http://127.0.0.1:{node.effective_ports.rpc}",
        "imds_url": IMDS_URL,
        "endpoint": "",
        "device": DATA_DEVICE_NAME,
        "node_unit": layout.NODE_SERVICE,
        "systemctl": "systemctl",
        "stop_timeout_seconds": STOP_TIMEOUT_SECONDS,
        "complete_timeout_seconds": config.complete_timeout_seconds,
        "poll_seconds": POLL_SECONDS,
        "fast_restore_group": config.fast_restore_group or "",
    }


def service_unit(config: SnapshotSourceConfig) -> str:
    return f"""[Unit]
Description=Snapshot the chain database volume (node stopped at initiation) and publish it
Documentation=file://{PRODUCER}
Wants=network-online.target
After=network-online.target {layout.NODE_SERVICE}

[Service]
Type=oneshot
ExecStart=/usr/bin/python3 {PRODUCER} {CONFIG_FILE}
TimeoutStartSec={config.complete_timeout_seconds + 2 * STOP_TIMEOUT_SECONDS + 600}
UMask=0077
{SANDBOX}"""


def timer_unit(config: SnapshotSourceConfig) -> str:
    return f"""[Unit]
Description=Run {SERVICE} every {TICK} (a snapshot at most every {config.interval_hours} h)

[Timer]
OnBootSec={FIRST_RUN}
OnUnitInactiveSec={TICK}
RandomizedDelaySec={RANDOM_DELAY}

[Install]
WantedBy=timers.target
"""


def snapshot_extension(config: SnapshotSourceConfig, *, source: str) -> BootstrapExtension:
    """The files and commands of a snapshot source's node. ``source`` names the source
    (its snapshots' ``substrate:snapshot-source`` tag)."""
    return BootstrapExtension(
        files=(
            RenderedFile(CONFIG_FILE, json.dumps(producer_config(config, source=source), indent=1, sort_keys=True) + "\n"),
            RenderedFile(PRODUCER, module_source("constructs_substrate.snapshots", "producer.py")),
            RenderedFile(paths.unit(SERVICE), without_comments(service_unit(config), ORIGIN)),
            RenderedFile(paths.unit(TIMER), without_comments(timer_unit(config), ORIGIN)),
        ),
        commands=(f"systemctl enable --now {TIMER}",),
    )


__all__ = ["SERVICE", "TIMER", "producer_config", "service_unit", "snapshot_extension", "timer_unit"]
