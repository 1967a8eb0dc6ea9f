"""``SnapshotSourceConfig``: what a :class:`~constructs_substrate.snapshots.SnapshotSource`
snapshots, how often, how many it keeps and where it publishes them."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from .._model import Model
from ..config import NodeConfig
from ..errors import ConfigError
from ..flags import DEFAULT_STATE_PRUNING
from ..roles import NodeRole

SNAPSHOT_ROLES = (NodeRole.RPC, NodeRole.ARCHIVE)
"""Roles a source node may have: a plain chain node, never a validator (its keystore
is on the volume) nor a bootnode (its node key is)."""
_SSM_NAME = re.compile(r"^(/[A-Za-z0-9_.-]+){2,15}$")
_GROUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")


def database_kind(node: NodeConfig) -> str:
    """``<database>-<pruned|archive>``: which nodes can start from a source's snapshots."""
    return f"{node.database}-{'archive' if node.profile.archive else 'pruned'}"


def parameter_name(node: NodeConfig) -> str:
    """The SSM parameter a source of nodes like ``node`` publishes to and clusters of
    such nodes read: ``/substrate/<chain>/<database>-<pruned|archive>/snapshot-id``."""
    return f"/substrate/{node.chain.name}/{database_kind(node)}/snapshot-id"


def pruning_tag(node: NodeConfig) -> str:
    """The node's state pruning as tagged on its snapshots (``archive`` or a number)."""
    if node.profile.archive:
        return "archive"
    return str(node.state_pruning or DEFAULT_STATE_PRUNING)


class SnapshotSourceConfig(Model):
    """One node outside every serving group whose data volume is snapshotted on a
    schedule, with the node stopped for the moment the snapshot is initiated."""

    node: NodeConfig
    """The source node (role ``rpc`` or ``archive``; same chain, database and pruning as
    the nodes that start from its snapshots). Its RPC stays private: only the producer
    on the instance calls it."""
    interval_hours: int = Field(default=6, ge=1, le=168)
    """Snapshot when the published snapshot is older than this (checked every 30
    minutes by a systemd timer, so the first snapshot follows the first sync). Default:
    6: a node started from the newest snapshot catches up at most ~6 h of blocks (3600
    on a 6 s chain: minutes), while the source node is stopped four times a day for
    seconds."""
    retain: int = Field(default=3, ge=1, le=100)
    """Completed snapshots of this source kept (newest by best block); older ones and
    failed ones are deleted. The published one is never deleted. Default: 3 (the
    published one and two to fall back to by hand)."""
    complete_timeout_seconds: int = Field(default=21600, ge=600, le=86400)
    """How long a run waits for its snapshot to reach ``completed`` before giving up
    without publishing. Default: 21600 (6 h: the first, full snapshot of a large volume
    takes hours; later ones are incremental)."""
    parameter_name: str | None = None
    """SSM parameter the published snapshot id goes to. Default:
    ``/substrate/<chain>/<database>-<pruned|archive>/snapshot-id``."""
    fast_restore_group: str | None = None
    """Name of an Auto Scaling group: enable Fast Snapshot Restore on each published
    snapshot in the group's Availability Zones (read at run time), and disable it on the
    snapshot it replaces. Costs $0.75 per snapshot and AZ per hour in us-east-1
    (about $550 a month per AZ), billed by the minute with a one-hour minimum.
    Default: none (volumes from the snapshot load their blocks lazily on first read)."""

    @field_validator("parameter_name")
    @classmethod
    def _parameter(cls, value: str | None) -> str | None:
        if value is not None and (not _SSM_NAME.match(value) or value.lower().startswith(("/aws", "/ssm"))):
            raise ValueError(f"{value!r} is not an SSM parameter name like '/substrate/polkadot/rocksdb-pruned/snapshot-id'")
        return value

    @field_validator("fast_restore_group")
    @classmethod
    def _group(cls, value: str | None) -> str | None:
        if value is not None and not _GROUP_NAME.match(value):
            raise ValueError(f"{value!r} is not an Auto Scaling group name like 'polkadot-rpc-eu-central-1'")
        return value

    @model_validator(mode="after")
    def _role(self) -> "SnapshotSourceConfig":
        if self.node.role not in SNAPSHOT_ROLES:
            raise ConfigError.of(
                "node.role",
                f"a snapshot source is an rpc or archive node, not a {self.node.role.value} "
                "(a validator's or bootnode's volume holds its keys)",
            )
        return self

    @property
    def effective_parameter_name(self) -> str:
        return self.parameter_name or parameter_name(self.node)


__all__ = ["SNAPSHOT_ROLES", "SnapshotSourceConfig", "database_kind", "parameter_name", "pruning_tag"]
