"""Node roles and what each decides: sizing, sync mode, pruning, identity, exposure.

One table (:data:`PROFILES`) in the spirit of Parity's ansible role: every field a
role decides is here, and every one can still be overridden in ``NodeConfig``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

DEFAULT_STATE_PRUNING = 1000
"""``--state-pruning`` of non-archive roles (and of an embedded relay chain): blocks of
state kept. polkadot-sdk's own default is 256 (sc-cli ``PruningParams``)."""
ARCHIVE = "archive"
"""``--state-pruning`` / ``--blocks-pruning`` value that keeps everything."""


class NodeRole(str, Enum):
    VALIDATOR = "validator"
    """Produces blocks. RPC on localhost only, static node key, Elastic IP as
    ``--public-addr``, data volume retained (its keystore must never be cloned)."""
    RPC = "rpc"
    """Pruned public-facing RPC node (behind a load balancer or nginx TLS)."""
    ARCHIVE = "archive"
    """Keeps all states and blocks; full sync only (warp sync is refused)."""
    BOOTNODE = "bootnode"
    """Stable p2p address for others' ``--bootnodes``: static key, Elastic IP, no RPC."""
    TELEMETRY = "telemetry"
    """Runs substrate-telemetry (core, shard, frontend) behind nginx TLS; no chain node."""


@dataclass(frozen=True)
class RoleProfile:
    instance_type: str
    """Default EC2 type."""
    min_vcpus: int
    min_memory_gib: int
    archive: bool
    """Keep every state and block."""
    blocks_pruning: str | None
    """Default ``--blocks-pruning``: ``"archive"`` keeps every block body; ``None`` keeps
    the bodies of as many finalized blocks as the state is kept (``--state-pruning``).
    polkadot-sdk's own default, ``archive-canonical``, keeps every finalized body, so a
    warp-synced node would backfill all bodies since genesis (sc-cli ``PruningParams``;
    gap sync fetches headers only when blocks pruning is a number: polkadot-sdk #10752,
    #12917)."""
    sync: str | None
    """Default ``--sync`` mode (``None``: the node's default)."""
    static_node_key: bool
    """Generate a node key file on the machine (stable peer id)."""
    elastic_ip: bool
    """Default for ``NodeConfig.elastic_ip``."""
    retain_data_volume: bool
    """Default for ``DataVolumeConfig.retain``: refuse to destroy the volume."""
    runs_chain_node: bool
    rpc_external: bool
    """RPC listens beyond localhost (still closed by the security group unless allowed)."""
    allows_tls: bool
    """nginx + Let's Encrypt in front of the node's service may be enabled."""


_COMMON = dict(runs_chain_node=True, allows_tls=False, rpc_external=False)

PROFILES: dict[NodeRole, RoleProfile] = {
    # Polkadot's reference hardware: 8 physical cores (16 vCPU), 32 GiB.
    NodeRole.VALIDATOR: RoleProfile(
        instance_type="c7i.4xlarge", min_vcpus=16, min_memory_gib=32, archive=False,
        blocks_pruning=None, sync="warp", static_node_key=True, elastic_ip=True, retain_data_volume=True,
        **_COMMON,
    ),
    NodeRole.RPC: RoleProfile(
        instance_type="m7i.2xlarge", min_vcpus=4, min_memory_gib=16, archive=False,
        blocks_pruning=None, sync="warp", static_node_key=False, elastic_ip=False, retain_data_volume=False,
        **{**_COMMON, "rpc_external": True, "allows_tls": True},
    ),
    NodeRole.ARCHIVE: RoleProfile(
        instance_type="m7i.2xlarge", min_vcpus=4, min_memory_gib=16, archive=True,
        blocks_pruning=ARCHIVE, sync="full", static_node_key=False, elastic_ip=False, retain_data_volume=True,
        **{**_COMMON, "rpc_external": True, "allows_tls": True},
    ),
    NodeRole.BOOTNODE: RoleProfile(
        instance_type="c7i.large", min_vcpus=2, min_memory_gib=4, archive=False,
        blocks_pruning=None, sync="warp", static_node_key=True, elastic_ip=True, retain_data_volume=False,
        **_COMMON,
    ),
    NodeRole.TELEMETRY: RoleProfile(
        instance_type="m7i.large", min_vcpus=2, min_memory_gib=8, archive=False,
        blocks_pruning=None, sync=None, static_node_key=False, elastic_ip=False, retain_data_volume=False,
        **{**_COMMON, "runs_chain_node": False, "allows_tls": True},
    ),
}
