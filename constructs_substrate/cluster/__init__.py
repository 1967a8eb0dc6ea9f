"""``AutoscalingApiCluster``: a sync-aware, WebSocket-ready RPC endpoint of one chain
in one region: nodes in an Auto Scaling group behind an Application Load Balancer
that only routes to nodes whose readiness probe says they are synced and advancing.
See docs/autoscaling-api-cluster.md.

The configuration models import without the Terraform framework; the constructs load
it on first use.

- ``config``: :class:`ApiClusterConfig` and its parts (pydantic, framework-free);
- ``api_cluster``: :class:`AutoscalingApiCluster`, the construct that ties them together;
- ``alb``: :class:`ApiLoadBalancer` (shareable by several clusters), ``certificate``:
  :class:`DnsValidatedCertificate`, ``access_logs``: :class:`AccessLogBucket`,
  ``waf``: :class:`RateLimitWebAcl`;
- ``autoscaling``: :class:`NodeGroup` (launch template, group, scaling policies);
- ``alarms``: :class:`ClusterAlarms`;
- ``lifecycle_action``: the stdlib script instances run to complete their lifecycle hook.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .config import (
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

_LAZY = {
    "AutoscalingApiCluster": ".api_cluster",
    "ApiLoadBalancer": ".alb",
    "DnsValidatedCertificate": ".certificate",
    "AccessLogBucket": ".access_logs",
    "RateLimitWebAcl": ".waf",
    "NodeGroup": ".autoscaling",
    "ClusterAlarms": ".alarms",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AccessLogBucket",
    "AlarmConfig",
    "ApiClusterConfig",
    "ApiLoadBalancer",
    "AutoscalingApiCluster",
    "ChainSnapshot",
    "ClusterAlarms",
    "DnsValidatedCertificate",
    "HealthCheckConfig",
    "LivenessConfig",
    "LoadBalancerConfig",
    "NodeGroup",
    "RateLimitWebAcl",
    "RollingUpdateConfig",
    "SpotConfig",
    "WarmPoolConfig",
]
