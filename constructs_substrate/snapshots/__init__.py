"""Chain data for new nodes from our own EBS snapshots (docs/snapshot-source.md).

- :class:`SnapshotSource`: one node outside every serving group, snapshotted on a
  schedule with the node stopped for the snapshot's initiation, the newest complete
  snapshot published in an SSM parameter (:func:`parameter_name`);
- :class:`SnapshotSourceConfig`: its options;
- ``producer.py``: the script that runs on the source node (stdlib only).
"""

from .config import SnapshotSourceConfig, database_kind, parameter_name
from .producer import NO_SNAPSHOT
from .source import SnapshotSource, producer_statements

__all__ = ["NO_SNAPSHOT", "SnapshotSource", "SnapshotSourceConfig", "database_kind", "parameter_name", "producer_statements"]
