"""The naming rule: every name this library gives an AWS resource comes from here.

- :func:`name_prefix`: ``<construct id>-<hash of the construct path>-``, for names of
  resources that belong to one construct (alarms, groups, buckets, roles): the path
  holds the stack (``<chain>-<region>``) and the role's construct (``rpc``,
  ``validator-1``), so two constructs never share a prefix.
- :func:`deployment_name`: ``<chain>-<region>`` (or ``<chain>-global``), the short,
  readable name of one chain's monitoring in one region (log group, canary, alarms).
- :func:`fit`: any name longer than its AWS limit keeps its start and gains a hash
  of the whole name, so names that differ stay different after shortening
  (``f"{chain[:8]}-{region}"`` made asset-hub-polkadot and asset-hub-kusama one name).

``tests/synth/test_names_unique.py`` builds every catalog chain in every supported
region and checks every name of every resource type against the AWS limits below.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # config models import this module: they must not load the framework
    from ._framework import Construct

HASH_LENGTH = 6
"""Hex digits of SHA-256 in a shortened name (16.7 million values per name start)."""
MONITORING_NAME_MAX = 40
"""``MonitoringConfig.name``: every name derived from it fits (the canary's is fitted
to :data:`CANARY_NAME_MAX`), and ``<chain>-<region>`` stays readable for the catalog
chains (``asset-hub-polkadot-ap-southeast-1`` is 33)."""
CANARY_NAME_MAX = 21
"""CloudWatch Synthetics canary names: 1-21 lowercase letters, digits, ``-`` or ``_``
(the canary's Lambda function is named ``cwsyn-<name>-<uuid>``)."""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


def fit(name: str, max_length: int) -> str:
    """``name`` when it has at most ``max_length`` characters; otherwise its first
    characters, ``-`` and a hash of all of ``name``, ``max_length`` long at most."""
    if len(name) <= max_length:
        return name
    if max_length < HASH_LENGTH + 2:
        raise ValueError(f"a name of at most {max_length} characters cannot hold a {HASH_LENGTH}-digit hash")
    return f"{name[: max_length - HASH_LENGTH - 1].rstrip('-_')}-{_digest(name)}"


def deployment_name(chain: str, where: str) -> str:
    """The name of one chain's resources in one region (``where`` is the region, or
    ``global``): ``<chain>-<where>`` fitted to :data:`MONITORING_NAME_MAX`, e.g.
    ``kusama-us-east-1``; a custom chain's long name ends in a hash."""
    return fit(f"{chain}-{where}", MONITORING_NAME_MAX)


def name_prefix(scope: Construct, max_length: int = 32) -> str:
    """``<id>-<hash of path>-``: unique per construct, stable across synths."""
    path = scope.node.path
    base = re.sub(r"[^a-z0-9-]+", "-", scope.node.id.lower()).strip("-") or "node"
    return f"{base[: max_length - HASH_LENGTH - 2]}-{_digest(path)}-"


def node_tags(node, agents=None) -> dict[str, str]:
    """Tags of a node's instance and its resources: ``Name`` (the node's name),
    ``substrate:chain``, ``substrate:role``, and ``agents.instance_tags`` (the tag by
    which its :class:`~constructs_substrate.observability.Monitoring` finds it)."""
    tags = {"Name": node.name, "substrate:chain": node.chain.name, "substrate:role": node.role.value}
    if agents is not None:
        tags.update(agents.instance_tags)
    return tags
