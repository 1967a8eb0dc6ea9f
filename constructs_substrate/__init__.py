"""Terraform-CDK constructs for Polkadot, Kusama and parachain nodes on AWS.

Configuration models import without the framework; constructs (``SubstrateNode``,
``AutoscalingApiCluster``...) load it on first use, so validating a config or reading
the chain catalog stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .chains import CATALOG, POLKADOT_SDK_RELEASE, Chain, ChainSpecSource, DbSizes, get_chain
from .config import (
    DataVolumeConfig,
    DnsConfig,
    MonitoringAccess,
    NodeConfig,
    RpcConfig,
    TelemetryServerConfig,
    TlsConfig,
)
from .cluster import ApiClusterConfig
from .errors import ConfigError, Problem
from .global_endpoint_config import GlobalEndpointConfig
from .observability import AgentConfig, MonitoringConfig
from .settings import DeploymentSettings, load_settings
from .ports import NodePorts
from .release import PARITY_RELEASE_KEY, Artifact, BinaryRelease
from .roles import NodeRole

_LAZY = {
    "SubstrateNode": ".node",
    "NodeNetwork": ".network",
    "AutoscalingApiCluster": ".cluster.api_cluster",
    "ApiLoadBalancer": ".cluster.alb",
    "GlobalEndpoint": ".global_endpoint",
    "Monitoring": ".observability.monitoring",
}

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AgentConfig",
    "ApiClusterConfig",
    "ApiLoadBalancer",
    "Artifact",
    "AutoscalingApiCluster",
    "DeploymentSettings",
    "GlobalEndpoint",
    "GlobalEndpointConfig",
    "Monitoring",
    "MonitoringConfig",
    "load_settings",
    "BinaryRelease",
    "CATALOG",
    "Chain",
    "ChainSpecSource",
    "ConfigError",
    "DataVolumeConfig",
    "DbSizes",
    "DnsConfig",
    "MonitoringAccess",
    "NodeConfig",
    "NodeNetwork",
    "NodePorts",
    "NodeRole",
    "PARITY_RELEASE_KEY",
    "POLKADOT_SDK_RELEASE",
    "Problem",
    "RpcConfig",
    "SubstrateNode",
    "TelemetryServerConfig",
    "TlsConfig",
    "get_chain",
]
