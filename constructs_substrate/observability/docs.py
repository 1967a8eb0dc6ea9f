"""Generates ``docs/observability.md`` from the definitions themselves (alert rules,
dashboard panels, metric sources, config models), so the documentation cannot drift.

    python -m constructs_substrate.observability.docs > docs/observability.md

``tests/observability/test_observability_docs.py`` fails when the file is stale.
"""

from __future__ import annotations

import sys
from typing import Iterable

from .. import ports
from ..docgen import model_table
from . import agent_config, config
from .grafana import dashboard_panels
from .prometheus_agent import JOB_NODE, JOB_NODE_EXPORTER, JOB_PROBE, JOB_RELAY
from .rules import alert_rules
from .templating import render_template

EXAMPLE_THRESHOLDS = config.AlertThresholds(minimum_node_version="1.16.0")
"""The tables show the default thresholds, with an example minimum version (the
version alert only exists when one is configured)."""
EXAMPLE_EXPECTED_NODES = ("val-1",)

MODELS = (
    agent_config.AgentConfig,
    agent_config.AmpRemoteWrite,
    agent_config.BasicAuthRemoteWrite,
    agent_config.CloudWatchLogs,
    agent_config.LokiLogs,
    agent_config.OpenSearchLogs,
    config.MonitoringConfig,
    config.AlertThresholds,
    config.Notifications,
    config.LoadBalancerWatch,
    config.HealthCheckWatch,
    config.BudgetConfig,
    config.CanaryConfig,
)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def metric_sources() -> Iterable[str]:
    rows = [
        (JOB_NODE_EXPORTER, ports.NODE_EXPORTER, "every node", "node_exporter from Ubuntu's `prometheus-node-exporter` package (installed by the bootstrap): CPU, memory, filesystems, network (`node_*`)"),
        (JOB_NODE, ports.PROMETHEUS, "chain nodes", "the node's own metrics (`substrate_*`): block heights, peers, sync state, per-method RPC counters and latency histograms, build info"),
        (JOB_RELAY, ports.RELAY_PROMETHEUS, "parachain nodes with an embedded relay chain", "the embedded relay chain node's metrics, same names"),
        (JOB_PROBE, ports.PROBE, "rpc and archive nodes", "the readiness probe (`substrate_probe_*`, see docs/probe.md)"),
    ]
    yield "| job | port | on | what |"
    yield "| --- | --- | --- | --- |"
    for job, port, where, what in rows:
        yield f"| `{job}` | {port} | {where} | {what} |"


def alerts_table() -> Iterable[str]:
    yield "| alert | severity | for | expression | summary |"
    yield "| --- | --- | --- | --- | --- |"
    for rule in alert_rules(EXAMPLE_THRESHOLDS, EXAMPLE_EXPECTED_NODES):
        yield (
            f"| [`{rule.name}`](#runbook-{rule.name.lower()}) | {rule.severity} | {rule.for_minutes}m "
            f"| `{_cell(rule.expr)}` | {_cell(rule.summary)} |"
        )


def runbooks() -> Iterable[str]:
    for rule in alert_rules(EXAMPLE_THRESHOLDS, EXAMPLE_EXPECTED_NODES):
        yield f"### Runbook: {rule.name}"
        yield ""
        yield rule.runbook
        yield ""


def panels_table() -> Iterable[str]:
    yield "| row | panel | source | queries |"
    yield "| --- | --- | --- | --- |"
    for row, panel in dashboard_panels():
        queries = "<br>".join(f"`{_cell(q)}`" for q, _ in panel.queries) if panel.source == "prometheus" else ", ".join(
            f"`AWS/ApplicationELB {metric}` ({stat})" for metric, stat in panel.queries
        )
        yield f"| {row} | {panel.title} | {panel.source} | {queries} |"


def reference() -> Iterable[str]:
    for model in MODELS:
        for line in model_table(model):
            yield line.replace("## `", "### `", 1) if line.startswith("## `") else line


def render() -> str:
    text = render_template(
        "observability.md", shell=False,
        metric_sources="\n".join(metric_sources()),
        alerts_table="\n".join(alerts_table()),
        runbooks="\n".join(runbooks()).rstrip(),
        panels_table="\n".join(panels_table()),
        reference="\n".join(reference()).rstrip(),
    )
    return text.rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
