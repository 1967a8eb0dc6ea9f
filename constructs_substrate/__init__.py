"""Terraform-CDK constructs for Polkadot, Kusama and parachain nodes on AWS.

Configuration models import without the framework; constructs (``SubstrateNode``,
``AutoscalingApiCluster``...) load it on first use, so validating a config or reading
the chain catalog stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .chains import CATALOG, POLKADOT_SDK_RELEASE, Chain, ChainSpecSource, DbSizes, get_chain
from .cluster import (
    AlarmConfig,
    ApiClusterConfig,
    ChainSnapshot,
    HealthCheckConfig,
    LivenessConfig,
    LoadBalancerConfig,
    RollingUpdateConfig,
    SpotConfig,
    WarmPoolConfig,
)
from .config import (
    DataVolumeConfig,
    DnsConfig,
    MonitoringAccess,
    NodeConfig,
    RpcConfig,
    TelemetryServerConfig,
    TlsConfig,
)
from .errors import ConfigError, Problem
from .global_endpoint_config import GlobalEndpointConfig
from .observability import (
    AgentConfig,
    AlertThresholds,
    AmpRemoteWrite,
    BasicAuthRemoteWrite,
    BudgetConfig,
    CanaryConfig,
    CloudWatchLogs,
    HealthCheckWatch,
    LoadBalancerWatch,
    LokiLogs,
    MonitoringConfig,
    Notifications,
    OpenSearchLogs,
    agent_extension,
)
from .settings import DeploymentSettings, load_settings
from .ports import NodePorts
from .release import PARITY_RELEASE_KEY, Artifact, BinaryRelease
from .roles import NodeRole
from .bootstrap import BootstrapExtension, render_bootstrap

# Constructs (and what builds them) load the Terraform framework on first use.
_LAZY = {
    "SubstrateNode": ".node",
    "NodeInstanceRole": ".iam",
    "NodeNetwork": ".network",
    "AutoscalingApiCluster": ".cluster.api_cluster",
    "ApiLoadBalancer": ".cluster.alb",
    "DnsValidatedCertificate": ".cluster.certificate",
    "AccessLogBucket": ".cluster.access_logs",
    "RateLimitWebAcl": ".cluster.waf",
    "NodeGroup": ".cluster.autoscaling",
    "ClusterAlarms": ".cluster.alarms",
    "GlobalEndpoint": ".global_endpoint",
    "RegionalTarget": ".global_endpoint",
    "Monitoring": ".observability.monitoring",
    "AlertTopic": ".observability.notifications",
    "AwsAlarms": ".observability.alarms",
    "SyntheticCheck": ".observability.synthetics",
    "SnapshotSource": ".snapshots",
    "SnapshotSourceConfig": ".snapshots",
    "deploy_chain": ".deployment",
    "ChainDeployment": ".deployment",
    "SnapshotSource": ".snapshots",
    "SnapshotSourceConfig": ".snapshots",
}

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(
    [
        "CATALOG", "POLKADOT_SDK_RELEASE", "Chain", "ChainSpecSource", "DbSizes", "get_chain",
        "AlarmConfig", "ApiClusterConfig", "ChainSnapshot", "HealthCheckConfig", "LivenessConfig",
        "LoadBalancerConfig", "RollingUpdateConfig", "SpotConfig", "WarmPoolConfig",
        "DataVolumeConfig", "DnsConfig", "MonitoringAccess", "NodeConfig", "RpcConfig",
        "TelemetryServerConfig", "TlsConfig",
        "ConfigError", "Problem", "GlobalEndpointConfig",
        "AgentConfig", "AlertThresholds", "AmpRemoteWrite", "BasicAuthRemoteWrite", "BudgetConfig",
        "CanaryConfig", "CloudWatchLogs", "HealthCheckWatch", "LoadBalancerWatch", "LokiLogs",
        "MonitoringConfig", "Notifications", "OpenSearchLogs", "agent_extension",
        "DeploymentSettings", "load_settings", "NodePorts", "PARITY_RELEASE_KEY", "Artifact",
        "BinaryRelease", "NodeRole", "BootstrapExtension", "render_bootstrap",
        *_LAZY,
    ],
    key=str.lower,
)
