"""The CloudWatch dashboard body for the AWS side: load balancers, Auto Scaling groups,
Route53 health checks (whose metrics live in us-east-1) and the canary."""

from __future__ import annotations

import json
from typing import Sequence

from .config import HealthCheckWatch, LoadBalancerWatch

ROUTE53_REGION = "us-east-1"
"""Route53 publishes health check metrics only in us-east-1."""


def _metric(title: str, region: str, metrics: list[list], *, stat: str = "Sum", period: int = 60, unit_label: str = "") -> dict:
    properties = {
        "title": title,
        "region": region,
        "metrics": metrics,
        "stat": stat,
        "period": period,
        "view": "timeSeries",
        "stacked": False,
    }
    if unit_label:
        properties["yAxis"] = {"left": {"label": unit_label, "showUnits": False}}
    return {"type": "metric", "properties": properties}


def dashboard_widgets(
    *,
    region: str,
    load_balancers: Sequence[LoadBalancerWatch] = (),
    auto_scaling_groups: Sequence[str] = (),
    health_checks: Sequence[HealthCheckWatch] = (),
    canary_name: str | None = None,
) -> list[dict]:
    widgets = []
    for lb in load_balancers:
        dims = ["LoadBalancer", lb.load_balancer_arn_suffix]
        tg = ["TargetGroup", lb.target_group_arn_suffix, *dims]
        widgets += [
            _metric(f"{lb.name}: requests and 5xx", region, [
                ["AWS/ApplicationELB", "RequestCount", *dims],
                ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", *dims],
                ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", *tg],
            ]),
            _metric(f"{lb.name}: healthy and unhealthy targets", region, [
                ["AWS/ApplicationELB", "HealthyHostCount", *tg],
                ["AWS/ApplicationELB", "UnHealthyHostCount", *tg],
            ], stat="Minimum"),
            _metric(f"{lb.name}: target response time p95", region, [
                ["AWS/ApplicationELB", "TargetResponseTime", *tg, {"stat": "p95"}],
            ], stat="p95", unit_label="seconds"),
        ]
    for group in auto_scaling_groups:
        dims = ["AutoScalingGroupName", group]
        widgets.append(_metric(f"{group}: desired vs in service", region, [
            ["AWS/AutoScaling", "GroupDesiredCapacity", *dims],
            ["AWS/AutoScaling", "GroupInServiceInstances", *dims],
            ["AWS/AutoScaling", "GroupPendingInstances", *dims],
        ], stat="Average"))
    if health_checks:
        widgets.append(_metric("Route53 health checks (1 = healthy)", ROUTE53_REGION, [
            ["AWS/Route53", "HealthCheckStatus", "HealthCheckId", hc.health_check_id, {"label": hc.name}]
            for hc in health_checks
        ], stat="Minimum"))
    if canary_name is not None:
        widgets += [
            _metric("Canary success percent", region, [
                ["CloudWatchSynthetics", "SuccessPercent", "CanaryName", canary_name],
            ], stat="Average", period=300),
            _metric("Canary duration", region, [
                ["CloudWatchSynthetics", "Duration", "CanaryName", canary_name],
            ], stat="Average", period=300, unit_label="ms"),
        ]
    for index, widget in enumerate(widgets):
        widget.update({"x": 12 * (index % 2), "y": 6 * (index // 2), "width": 12, "height": 6})
    return widgets


def dashboard_body(**kwargs) -> str:
    """The ``dashboard_body`` JSON (deterministic); arguments as :func:`dashboard_widgets`.
    An empty dashboard gets a text widget saying what to configure."""
    widgets = dashboard_widgets(**kwargs)
    if not widgets:
        widgets = [{
            "type": "text", "x": 0, "y": 0, "width": 24, "height": 3,
            "properties": {"markdown": "No load balancers, Auto Scaling groups, health checks or canary configured."},
        }]
    return json.dumps({"widgets": widgets}, sort_keys=True)
