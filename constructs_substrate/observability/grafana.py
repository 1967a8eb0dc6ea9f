"""The Grafana dashboard, generated in Python as deterministic JSON.

Four rows: the chain (best/finalized/sync target, finality lag, peers, sync state,
readiness), RPC (calls per method, errors per method, latency quantiles from the
``substrate_rpc_calls_time`` histogram, which is in microseconds, open WebSocket
sessions), the host (CPU, memory, disk, network from node_exporter) and the load
balancer (CloudWatch ``AWS/ApplicationELB``). Variables pick the Prometheus and
CloudWatch data sources, the network, the node and the load balancer.

:func:`write_dashboards` writes the JSON files next to the synthesized stacks, to
import into any Grafana (or Amazon Managed Grafana) with the AMP data source.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .prometheus_agent import JOB_NODE, JOB_NODE_EXPORTER, JOB_PROBE

DASHBOARD_UID = "substrate-nodes"
FILE_NAME = "substrate-nodes.json"
PROM = {"type": "prometheus", "uid": "${datasource}"}
CW = {"type": "cloudwatch", "uid": "${cloudwatch}"}
SEL = 'network=~"$network",node=~"$node"'
"""The label matchers every Prometheus query applies (dashboard variables)."""
BY = "node, instance"


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[tuple[str, str], ...]
    """``(expression, legend)`` pairs (PromQL), or for CloudWatch panels ``(metric
    name, statistic)`` pairs in ``AWS/ApplicationELB``."""
    unit: str = "short"
    source: str = "prometheus"
    description: str = ""


def _rows() -> list[tuple[str, list[Panel]]]:
    n = f'job="{JOB_NODE}",{SEL}'
    h = f'job="{JOB_NODE_EXPORTER}",{SEL}'
    rpc_rate = f"rate(substrate_rpc_calls_finished{{{n}}}[$__rate_interval])"
    latency = f"sum by (le, method) (rate(substrate_rpc_calls_time_bucket{{{n}}}[$__rate_interval]))"
    return [
        ("Chain", [
            Panel("Best and finalized block", (
                (f'max by ({BY}) (substrate_block_height{{status="best",{n}}})', "best {{node}}"),
                (f'max by ({BY}) (substrate_block_height{{status="finalized",{n}}})', "finalized {{node}}"),
                (f'max by ({BY}) (substrate_block_height{{status="sync_target",{n}}})', "network {{node}}"),
            ), "none", description="Block numbers; 'network' is the best block peers announce (sync target)."),
            Panel("Finality lag and blocks behind", (
                (f'substrate_block_height{{status="best",{n}}} - ignoring(status) substrate_block_height{{status="finalized",{n}}}',
                 "best - finalized {{node}}"),
                (f'substrate_block_height{{status="sync_target",{n}}} - ignoring(status) substrate_block_height{{status="best",{n}}}',
                 "behind network {{node}}"),
            ), "none"),
            Panel("Peers", ((f"substrate_sub_libp2p_peers_count{{{n}}}", "{{node}}"),), "none"),
            Panel("Major syncing and readiness", (
                (f"substrate_sub_libp2p_is_major_syncing{{{n}}}", "syncing {{node}}"),
                (f'substrate_probe_ready{{job="{JOB_PROBE}",{SEL}}}', "ready {{node}}"),
            ), "none", description="1 = major-syncing / ready for the load balancer."),
        ]),
        ("RPC", [
            Panel("RPC calls per second by method", (
                (f"sum by (method) ({rpc_rate})", "{{method}}"),
            ), "reqps", description="From the node's own per-method counters; no request is logged."),
            Panel("RPC errors per second by method", (
                (f'sum by (method) (rate(substrate_rpc_calls_finished{{is_error="true",{n}}}[$__rate_interval]))', "{{method}}"),
            ), "reqps"),
            Panel("RPC latency p50 / p95 / p99", (
                (f"histogram_quantile(0.5, {latency}) / 1e6", "p50 {{method}}"),
                (f"histogram_quantile(0.95, {latency}) / 1e6", "p95 {{method}}"),
                (f"histogram_quantile(0.99, {latency}) / 1e6", "p99 {{method}}"),
            ), "s", description="substrate_rpc_calls_time is in microseconds."),
            Panel("Open WebSocket sessions", (
                (f"sum by ({BY}) (substrate_rpc_sessions_opened{{{n}}}) - sum by ({BY}) (substrate_rpc_sessions_closed{{{n}}})",
                 "{{node}}"),
            ), "none"),
        ]),
        ("Host", [
            Panel("CPU busy", (
                (f'100 * (1 - avg by ({BY}) (rate(node_cpu_seconds_total{{mode="idle",{h}}}[$__rate_interval])))', "{{node}}"),
            ), "percent"),
            Panel("Memory used", (
                (f"100 * (1 - node_memory_MemAvailable_bytes{{{h}}} / node_memory_MemTotal_bytes{{{h}}})", "{{node}}"),
            ), "percent"),
            Panel("Disk used (/ and /data)", (
                (f'100 * (1 - node_filesystem_avail_bytes{{mountpoint=~"/|/data",{h}}} / '
                 f'node_filesystem_size_bytes{{mountpoint=~"/|/data",{h}}})', "{{node}} {{mountpoint}}"),
            ), "percent"),
            Panel("Network", (
                (f'sum by ({BY}) (rate(node_network_receive_bytes_total{{device!="lo",{h}}}[$__rate_interval]))', "in {{node}}"),
                (f'sum by ({BY}) (rate(node_network_transmit_bytes_total{{device!="lo",{h}}}[$__rate_interval]))', "out {{node}}"),
            ), "Bps"),
        ]),
        ("Load balancer", [
            Panel("Requests", (("RequestCount", "Sum"),), "short", "cloudwatch"),
            Panel("5xx (load balancer and nodes)", (("HTTPCode_ELB_5XX_Count", "Sum"), ("HTTPCode_Target_5XX_Count", "Sum")), "short", "cloudwatch"),
            Panel("Target response time (p95)", (("TargetResponseTime", "p95"),), "s", "cloudwatch"),
            Panel("Active connections", (("ActiveConnectionCount", "Sum"),), "short", "cloudwatch"),
        ]),
    ]


def dashboard_panels() -> list[tuple[str, Panel]]:
    """``(row, panel)`` for every panel (used by the docs and tests)."""
    return [(row, panel) for row, panels in _rows() for panel in panels]


def _target(panel: Panel, index: int, query: tuple[str, str]) -> dict:
    ref = chr(ord("A") + index)
    if panel.source == "prometheus":
        return {"datasource": PROM, "expr": query[0], "legendFormat": query[1], "refId": ref, "range": True}
    metric, statistic = query
    return {
        "datasource": CW,
        "refId": ref,
        "queryMode": "Metrics",
        "metricQueryType": 0,
        "metricEditorMode": 0,
        "region": "default",
        "namespace": "AWS/ApplicationELB",
        "metricName": metric,
        "dimensions": {"LoadBalancer": "$load_balancer"},
        "statistic": statistic,
        "period": "60",
        "matchExact": True,
        "id": "",
        "expression": "",
        "label": metric,
    }


def _variables(load_balancers: Sequence[str]) -> list[dict]:
    def query(name: str, expr: str) -> dict:
        return {
            "name": name, "label": name.capitalize(), "type": "query", "datasource": PROM,
            "query": {"query": expr, "refId": "vars"}, "definition": expr,
            "refresh": 2, "includeAll": True, "multi": True, "allValue": ".*",
            "current": {"text": "All", "value": "$__all"}, "sort": 1,
        }

    balancers = list(load_balancers) or ["app/none/0"]
    return [
        {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus"},
        {"name": "cloudwatch", "label": "CloudWatch", "type": "datasource", "query": "cloudwatch"},
        query("network", "label_values(substrate_block_height, network)"),
        query("node", 'label_values(substrate_block_height{network=~"$network"}, node)'),
        {
            "name": "load_balancer", "label": "Load balancer", "type": "custom",
            "query": ",".join(balancers),
            "options": [{"text": b, "value": b, "selected": i == 0} for i, b in enumerate(balancers)],
            "current": {"text": balancers[0], "value": balancers[0]},
        },
    ]


def grafana_dashboard(load_balancers: Sequence[str] = ()) -> dict:
    """The dashboard model. ``load_balancers``: ALB ARN suffixes (``app/<name>/<id>``)
    offered by the load balancer variable."""
    panels: list[dict] = []
    next_id, y = 1, 0
    for row, row_panels in _rows():
        panels.append({"id": next_id, "type": "row", "title": row, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        next_id, y = next_id + 1, y + 1
        for index, panel in enumerate(row_panels):
            panels.append({
                "id": next_id,
                "type": "timeseries",
                "title": panel.title,
                "description": panel.description,
                "datasource": PROM if panel.source == "prometheus" else CW,
                "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": y + 8 * (index // 2)},
                "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
                "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
                "targets": [_target(panel, i, q) for i, q in enumerate(panel.queries)],
            })
            next_id += 1
        y += 8 * ((len(row_panels) + 1) // 2)
    return {
        "uid": DASHBOARD_UID,
        "title": "Substrate nodes",
        "tags": ["substrate", "constructs-substrate"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": _variables(load_balancers)},
        "annotations": {"list": []},
        "panels": panels,
    }


def dashboard_json(load_balancers: Sequence[str] = ()) -> str:
    """Deterministic text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(grafana_dashboard(load_balancers), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_dashboards(outdir: str | Path, *, load_balancers: Sequence[str] = ()) -> list[Path]:
    """Write the dashboards to ``<outdir>/dashboards/`` (e.g. ``app.outdir``, next to
    ``stacks/``) and return their paths. Rewriting identical content leaves the files
    byte-identical. ``load_balancers`` must be literal ARN suffixes (a Terraform
    reference is only known after deploy)."""
    for value in load_balancers:
        if "${" in value:
            raise ValueError("write_dashboards needs literal load balancer ARN suffixes, not Terraform references")
    directory = Path(outdir) / "dashboards"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / FILE_NAME
    path.write_text(dashboard_json(load_balancers), encoding="utf-8")
    return [path]
