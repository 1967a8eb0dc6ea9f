"""The Grafana dashboard (deterministic JSON, every PromQL expression valid for
promtool) and the CloudWatch dashboard body."""

from __future__ import annotations

import json
import subprocess

import yaml

from constructs_substrate.observability.cloudwatch_dashboard import dashboard_body, dashboard_widgets
from constructs_substrate.observability.config import HealthCheckWatch, LoadBalancerWatch
from constructs_substrate.observability.grafana import dashboard_json, dashboard_panels, grafana_dashboard, write_dashboards

from observability_support import require

LB = "app/rpc/0123"


def test_write_dashboards_is_deterministic(tmp_path):
    (first,) = write_dashboards(tmp_path, load_balancers=[LB])
    content = first.read_bytes()
    (second,) = write_dashboards(tmp_path, load_balancers=[LB])
    assert second == first and second.read_bytes() == content
    assert first == tmp_path / "dashboards" / "substrate-nodes.json"
    assert json.loads(content) == grafana_dashboard([LB])
    assert content == dashboard_json([LB]).encode()


def test_refuses_terraform_references(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="literal"):
        write_dashboards(tmp_path, load_balancers=["${aws_lb.x.arn_suffix}"])


def test_panels_cover_chain_rpc_host_and_load_balancer():
    titles = {row: [p.title for r, p in dashboard_panels() if r == row] for row in ("Chain", "RPC", "Host", "Load balancer")}
    assert "Best and finalized block" in titles["Chain"] and "Peers" in titles["Chain"]
    assert "RPC calls per second by method" in titles["RPC"] and "RPC latency p50 / p95 / p99" in titles["RPC"]
    assert {"CPU busy", "Memory used", "Disk used (/ and /data)", "Network"} <= set(titles["Host"])
    assert titles["Load balancer"]
    exprs = " ".join(q for _, p in dashboard_panels() for q, _ in p.queries if p.source == "prometheus")
    for metric in ("substrate_block_height", "substrate_sub_libp2p_peers_count", "substrate_rpc_calls_finished",
                   "substrate_rpc_calls_time_bucket", "node_cpu_seconds_total", "node_filesystem_avail_bytes"):
        assert metric in exprs


def test_layout_ids_and_datasources():
    dashboard = grafana_dashboard([LB])
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells = set()
    for panel in panels:
        g = panel["gridPos"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps another panel"
                cells.add((x, y))
        assert g["x"] + g["w"] <= 24
    cloudwatch = [t for p in panels for t in p.get("targets", []) if t["datasource"]["type"] == "cloudwatch"]
    assert cloudwatch and all(t["dimensions"] == {"LoadBalancer": "$load_balancer"} for t in cloudwatch)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert set(variables) == {"datasource", "cloudwatch", "network", "node", "load_balancer"}
    assert variables["load_balancer"]["query"] == LB


def test_every_prometheus_expression_is_valid_promql(tmp_path):
    """promtool has no expression checker, but it parses recording rules: each panel
    query becomes one, with the dashboard variables replaced."""
    rules = []
    for index, (_, panel) in enumerate(dashboard_panels()):
        if panel.source != "prometheus":
            continue
        for number, (expr, _) in enumerate(panel.queries):
            concrete = expr.replace("$__rate_interval", "5m").replace("$network", ".*").replace("$node", ".*")
            rules.append({"record": f"panel_{index}_{number}", "expr": concrete})
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    result = subprocess.run([require("promtool"), "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_cloudwatch_dashboard_body():
    body = json.loads(dashboard_body(
        region="eu-central-1",
        load_balancers=[LoadBalancerWatch(name="rpc", load_balancer_arn_suffix=LB, target_group_arn_suffix="targetgroup/rpc/4")],
        auto_scaling_groups=["rpc-asg"],
        health_checks=[HealthCheckWatch(name="eu", health_check_id="abcd")],
        canary_name="polkadot-eu-ws",
    ))
    widgets = body["widgets"]
    assert {w["properties"]["region"] for w in widgets} == {"eu-central-1", "us-east-1"}
    metrics = [m[1] for w in widgets for m in w["properties"]["metrics"]]
    for name in ("RequestCount", "HTTPCode_ELB_5XX_Count", "UnHealthyHostCount", "GroupInServiceInstances",
                 "GroupDesiredCapacity", "HealthCheckStatus", "SuccessPercent"):
        assert name in metrics
    assert dashboard_body(region="x") == dashboard_body(region="x")
    assert dashboard_widgets(region="x") == []
