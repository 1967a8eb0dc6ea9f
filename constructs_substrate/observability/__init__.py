"""Observability and operations for Substrate nodes (see docs/observability.md).

Pure functions and models import without the Terraform framework:

- :class:`AgentConfig` + :func:`agent_extension`: the agents on every node (Prometheus
  in agent mode, Fluent Bit) as a bootstrap extension; :func:`agent_statements`: the
  IAM statements they need;
- :class:`MonitoringConfig` and its parts; :func:`alert_rules` / :func:`rules_yaml`;
- :func:`write_dashboards` / :func:`grafana_dashboard`: the Grafana dashboard;
- :func:`render_upptime`: the status page configuration from the endpoint list;
- :mod:`.canary`: the synthetic WebSocket check (standard library only).

Constructs load the framework on first use: :class:`Monitoring` (per region),
:class:`AlertTopic`, :class:`AwsAlarms`, :class:`SyntheticCheck`.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .agent_config import (
    AgentConfig,
    AmpRemoteWrite,
    BasicAuthRemoteWrite,
    CloudWatchLogs,
    LokiLogs,
    OpenSearchLogs,
)
from .node_agents import agent_extension
from .config import (
    AlertThresholds,
    BudgetConfig,
    CanaryConfig,
    HealthCheckWatch,
    LoadBalancerWatch,
    MonitoringConfig,
    Notifications,
)
from .grafana import grafana_dashboard, write_dashboards
from .iam import agent_statements, canary_statements
from .rules import AlertRule, alert_rules, rules_yaml
from .upptime import render_upptime, upptime_config

_LAZY = {
    "Monitoring": ".monitoring",
    "AlertTopic": ".notifications",
    "AwsAlarms": ".alarms",
    "SyntheticCheck": ".synthetics",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AgentConfig",
    "AlertRule",
    "AlertThresholds",
    "AlertTopic",
    "AmpRemoteWrite",
    "AwsAlarms",
    "BasicAuthRemoteWrite",
    "BudgetConfig",
    "CanaryConfig",
    "CloudWatchLogs",
    "HealthCheckWatch",
    "LoadBalancerWatch",
    "LokiLogs",
    "Monitoring",
    "MonitoringConfig",
    "Notifications",
    "OpenSearchLogs",
    "SyntheticCheck",
    "agent_extension",
    "agent_statements",
    "alert_rules",
    "canary_statements",
    "grafana_dashboard",
    "render_upptime",
    "rules_yaml",
    "upptime_config",
    "write_dashboards",
]
