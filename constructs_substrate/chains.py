"""The chain catalog: every network the library knows, in one table.

A :class:`Chain` carries what differs between networks: the ``--chain`` id, the
binary and its verified release, the relay chain of a parachain, default ports and
the typical database size used to size and validate data volumes. Users add their
own network by building a ``Chain`` (see ``docs/chains.md``) and passing it wherever
a chain name is accepted; nothing here needs editing.
"""

from __future__ import annotations

import math
import re
from types import MappingProxyType
from typing import Mapping

from pydantic import Field, field_validator, model_validator

from ._model import Model, sha256_hex
from .errors import ConfigError
from .ports import NodePorts
from .release import POLKADOT_SDK_DOWNLOADS, BinaryRelease, _https

POLKADOT_SDK_RELEASE = "polkadot-stable2606-1"
"""The polkadot-sdk release every catalog chain is pinned to. Bump it here (or per
chain with ``chain.replace(release=...)``) to upgrade nodes."""

NETWORK_LAG_BUDGET_SECONDS = 60
"""How far behind the network (in time) a node may fall before its probe takes it out
of rotation, unless a chain sets ``max_network_lag_blocks``: one minute, the same
budget as the probe's stall rule (``--stall-seconds 60``). A node importing normally
trails the best block peers announce by a block or two, briefly."""

_NAME = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
_CHAIN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SDK_TAG = re.compile(r"^polkadot-(stable[0-9]{4}(-[0-9]{1,3})?|v[0-9]+\.[0-9]+\.[0-9]+)$")
"""polkadot-sdk release tags: ``polkadot-stable2606`` and its patch releases
``polkadot-stable2606-1`` (quarterly stable releases, docs/RELEASE.md of polkadot-sdk),
or the older ``polkadot-v1.16.0``."""


def check_release_tag(tag: str) -> str:
    """A polkadot-sdk release tag, or ``ValueError`` saying what to type."""
    if not isinstance(tag, str) or not _SDK_TAG.match(tag):
        raise ValueError(
            f"{tag!r} is not a polkadot-sdk release tag: give e.g. '{POLKADOT_SDK_RELEASE}' "
            "(a tag of https://github.com/paritytech/polkadot-sdk/releases)"
        )
    return tag


class DbSizes(Model):
    """Typical database size of a chain (GiB), by pruning mode, as of 2026."""

    pruned: int = Field(gt=0)
    """A node with pruned state (``--state-pruning 1000``) that keeps every finalized
    block body (``--blocks-pruning archive-canonical``)."""
    archive: int = Field(gt=0)
    """An archive node (``--state-pruning archive --blocks-pruning archive``)."""
    blocks_pruned: int | None = Field(default=None, gt=0)
    """A node that prunes state and block bodies (``--blocks-pruning 1000``, the default
    of validators, rpc nodes and bootnodes): the state, plus every header and the
    justifications since genesis, which are never pruned. Default: ``pruned`` (no
    figure known: sized as if every body were kept)."""


class ChainSpecSource(Model):
    """A chain spec file downloaded and checked against a pinned SHA-256."""

    url: str
    """HTTPS URL of the (raw) chain spec JSON."""
    sha256: str
    """Hex SHA-256 of the file (``sha256sum spec.json``); upper case is lowered."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _https(value, "url")

    @field_validator("sha256")
    @classmethod
    def _sha256(cls, value: str) -> str:
        return sha256_hex(value, "the chain spec file")


class Chain(Model):
    """One network: everything a node of it needs that is not role-specific."""

    name: str
    """Catalog key and resource-name prefix, e.g. ``polkadot`` (lowercase, digits, '-')."""
    chain_id: str | None = None
    """Value of ``--chain`` for a chain spec built into the binary (``polkadot``,
    ``kusama``, ``asset-hub-polkadot``...). Required unless ``chain_spec`` is set, which
    replaces it (then it is ignored). Default: none."""
    release: BinaryRelease
    """The binaries (first one is the node) and how they are verified."""
    relay_chain: str | None = None
    """Catalog name of the relay chain for a parachain. Default: none (a relay/solo chain)."""
    ports: NodePorts = NodePorts()
    """Default ports of nodes of this chain. Default: polkadot-sdk's."""
    db_size_gib: DbSizes
    """Typical database size, used for the default and minimum data volume size."""
    chain_spec: ChainSpecSource | None = None
    """A chain spec to download instead of a built-in ``chain_id``. Default: none."""
    supports_warp_sync: bool = True
    """Whether ``--sync warp`` works for this chain (GRANDPA-finalized chains). Default: true."""
    block_time_seconds: float = Field(default=6.0, gt=0, le=600)
    """Target block time. Default: 6 (Polkadot/Kusama relay chains; system parachains
    with asynchronous backing). Sets the default network-lag limit."""
    max_network_lag_blocks: int | None = Field(default=None, ge=1, le=100000)
    """The readiness probe's ``--max-network-lag``: not ready when the best block is
    more than this many blocks behind the best block peers announce
    (``system_syncState``). Default: ``NETWORK_LAG_BUDGET_SECONDS`` (60) divided by
    ``block_time_seconds``, rounded up: 10 blocks at 6 s, 5 at 12 s."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be 2-41 lowercase letters, digits or '-', starting with a letter")
        return value

    @field_validator("chain_id")
    @classmethod
    def _chain_id(cls, value: str | None) -> str | None:
        if value is not None and not _CHAIN_ID.match(value):
            raise ValueError(
                f"{value!r} is not a built-in chain id: use letters, digits, '_' or '-', e.g. 'polkadot' "
                "(for your own network's spec file set chain_spec instead)"
            )
        return value

    @model_validator(mode="after")
    def _relay(self) -> "Chain":
        if self.relay_chain is not None and self.relay_chain == self.name:
            raise ConfigError.of(
                "relay_chain", f"cannot name the chain itself; give the relay chain's catalog name, e.g. 'polkadot'"
            )
        if self.chain_id is None and self.chain_spec is None:
            raise ConfigError.of(
                "chain_id",
                "say which chain spec the node runs: chain_id for one built into the binary "
                "(e.g. chain_id='polkadot'), or chain_spec=ChainSpecSource(url=..., sha256=...) for a spec file",
            )
        return self

    def with_release(self, tag: str, field: str = "release") -> "Chain":
        """This chain on another polkadot-sdk release, e.g. ``polkadot-stable2606-2``:
        the same binaries from that tag, verified the same way (GPG signature and
        checksum file, or pins). Only for chains whose binaries come from polkadot-sdk
        releases (every catalog chain); build your own ``BinaryRelease`` otherwise."""
        try:
            check_release_tag(tag)
        except ValueError as error:
            raise ConfigError.of(field, str(error)) from None
        release = self.release
        if not all(a.url.startswith(f"{POLKADOT_SDK_DOWNLOADS}/") for a in release.artifacts):
            raise ConfigError.of(
                field, f"chain '{self.name}' does not run polkadot-sdk release binaries; set its "
                "Chain.release (a BinaryRelease) to change its version",
            )
        if tag == release.version:
            return self
        if any(a.sha256 for a in release.artifacts):
            raise ConfigError.of(
                field, f"chain '{self.name}' pins sha256 digests of {release.version}; they cannot carry over "
                f"to {tag}: build BinaryRelease.polkadot_sdk({tag!r}, ..., sha256={{...}}) with the new digests",
            )
        upgraded = BinaryRelease.polkadot_sdk(
            tag, tuple(a.name for a in release.artifacts), signing_key=release.signing_key,
        )
        if "keyserver" in release.model_fields_set:
            upgraded = upgraded.replace(keyserver=release.keyserver)
        return self.replace(release=upgraded)

    @property
    def binary(self) -> str:
        return self.release.binary

    @property
    def is_parachain(self) -> bool:
        return self.relay_chain is not None

    @property
    def network_lag_blocks(self) -> int:
        """The probe's ``--max-network-lag`` for nodes of this chain."""
        if self.max_network_lag_blocks is not None:
            return self.max_network_lag_blocks
        return max(2, math.ceil(NETWORK_LAG_BUDGET_SECONDS / self.block_time_seconds))


def _relay(name: str, chain_id: str, pruned: int, archive: int, blocks_pruned: int) -> Chain:
    return Chain(
        name=name,
        chain_id=chain_id,
        release=BinaryRelease.polkadot_sdk(
            POLKADOT_SDK_RELEASE,
            ("polkadot", "polkadot-prepare-worker", "polkadot-execute-worker"),
        ),
        db_size_gib=DbSizes(pruned=pruned, archive=archive, blocks_pruned=blocks_pruned),
    )


def _system_parachain(name: str, relay: str, pruned: int, archive: int, blocks_pruned: int) -> Chain:
    return Chain(
        name=name,
        chain_id=name,
        release=BinaryRelease.polkadot_sdk(POLKADOT_SDK_RELEASE, ("polkadot-parachain",)),
        relay_chain=relay,
        db_size_gib=DbSizes(pruned=pruned, archive=archive, blocks_pruned=blocks_pruned),
    )


CATALOG: Mapping[str, Chain] = MappingProxyType(
    {
        chain.name: chain
        for chain in (
            _relay("polkadot", "polkadot", pruned=250, archive=3000, blocks_pruned=60),
            _relay("kusama", "kusama", pruned=350, archive=5000, blocks_pruned=80),
            _relay("westend", "westend", pruned=150, archive=1500, blocks_pruned=50),
            _relay("paseo", "paseo", pruned=100, archive=600, blocks_pruned=30),
            _system_parachain("asset-hub-polkadot", "polkadot", pruned=80, archive=500, blocks_pruned=25),
            _system_parachain("asset-hub-kusama", "kusama", pruned=80, archive=500, blocks_pruned=25),
            _system_parachain("asset-hub-westend", "westend", pruned=40, archive=200, blocks_pruned=15),
        )
    }
)
"""Built-in chains by name."""


def get_chain(chain: str | Chain, field: str = "chain") -> Chain:
    """Look a chain up by name; a :class:`Chain` is returned as is."""
    if isinstance(chain, Chain):
        return chain
    try:
        return CATALOG[chain]
    except (KeyError, TypeError):
        raise ConfigError.of(
            field,
            f"unknown chain {chain!r}; use one of {', '.join(sorted(CATALOG))}, "
            "or pass a constructs_substrate.Chain for your own network",
        ) from None
