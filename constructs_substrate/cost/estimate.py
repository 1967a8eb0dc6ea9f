"""The monthly cost of synthesized stacks, by line item.

Reads Terraform JSON documents (``cdktf.out/stacks/<stack>/cdk.tf.json``, or
``stack.to_terraform()``) and prices what they create with :mod:`.prices`. What the
documents cannot say (traffic, log volume, metric series) comes from
:class:`Assumptions`, printed beside the figures. Every resource type is either priced
here (:data:`PRICED_TYPES`) or listed as free with the reason (:data:`FREE_TYPES`); a
type in neither is reported as unpriced, never silently counted as zero.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from .prices import PRICE_DATE, PriceTable

ESTIMATE_FILE = "cost-estimate.json"
"""Written beside the stacks: ``cdktf.out/cost-estimate.json``."""


@dataclass(frozen=True)
class Assumptions:
    """Usage the synthesized resources do not state. Each is a plain guess for a public
    Polkadot endpoint, not a measurement: change them to yours."""

    hours_per_month: float = 730.0
    """Hours in a month (AWS's own convention)."""
    egress_gb_per_node: float = 1000.0
    """Internet egress per node and month: peer-to-peer gossip, block requests and RPC
    answers (roughly 3 Mbit/s on average)."""
    alb_lcu: float = 1.0
    """Average load balancer capacity units per ALB (1 LCU: 25 new connections/s,
    3,000 active connections or 1 GB/hour processed)."""
    metric_series_per_node: int = 3000
    """Active metric series each node sends to managed Prometheus (node, host and
    agent metrics)."""
    scrape_interval_seconds: int = 30
    """Scrape interval of the node agents (``AgentConfig.scrape_interval_seconds``'s
    default)."""
    bytes_per_sample: float = 2.0
    """Stored size of one sample in managed Prometheus."""
    log_gb_per_node: float = 5.0
    """Journal logs each node ships to CloudWatch Logs per month."""
    log_gb_per_group: float = 1.0
    """Logs per month into any other log group (canary, WAF, access...)."""
    flow_log_gb_per_vpc: float = 10.0
    """VPC flow log records per VPC and month."""
    stored_log_months: float = 12.0
    """Months of logs held, up to the group's retention (storage after a year)."""
    log_compression: float = 0.15
    """Stored (compressed) size of logs relative to ingested."""
    dns_queries_millions: float = 10.0
    """Geolocation DNS queries per month per georouted name."""
    waf_requests_millions: float = 100.0
    """Requests per month through each web ACL."""
    s3_gb_per_bucket: float = 5.0
    """Objects per bucket (access logs, canary artifacts, bootstrap files)."""
    nat_gb: float = 100.0
    """Data processed per NAT gateway and month."""
    grafana_editors: int = 1
    """Editors of a managed Grafana workspace."""


FREE_TYPES: dict[str, str] = {
    **{t: "configuration, no charge" for t in (
        "aws_autoscaling_policy", "aws_autoscaling_lifecycle_hook", "aws_autoscaling_schedule",
        "aws_default_security_group", "aws_security_group", "aws_vpc_security_group_ingress_rule",
        "aws_vpc_security_group_egress_rule", "aws_security_group_rule", "aws_vpc", "aws_subnet",
        "aws_route_table", "aws_route_table_association", "aws_route", "aws_internet_gateway",
        "aws_iam_role", "aws_iam_role_policy", "aws_iam_role_policy_attachment", "aws_iam_policy",
        "aws_iam_instance_profile", "aws_lb_listener", "aws_lb_listener_rule", "aws_lb_target_group",
        "aws_lb_listener_certificate", "aws_lb_target_group_attachment", "aws_eip_association",
        "aws_volume_attachment", "aws_kms_alias", "aws_sns_topic_policy", "aws_ssm_association",
        "aws_ssm_document", "aws_prometheus_rule_group_namespace",
        "aws_prometheus_alert_manager_definition", "aws_wafv2_web_acl_association",
        "aws_s3_bucket_lifecycle_configuration", "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_policy", "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration", "aws_s3_bucket_versioning",
        "aws_s3_bucket_notification", "aws_cloudwatch_log_resource_policy",
        "aws_ce_cost_allocation_tag", "aws_dlm_lifecycle_policy",
    )},
    "aws_acm_certificate": "public ACM certificates are free",
    "aws_acm_certificate_validation": "a wait for validation, no resource",
    "aws_route53_record": "records are free; queries of the georouted name are the route53 line item",
    "aws_sns_topic": "the first million publishes and 1,000 e-mails a month are free; alerts stay far below",
    "aws_sns_topic_subscription": "included in the topic's free tier",
    "aws_budgets_budget": "budgets without actions are free",
    "aws_ssm_parameter": "standard parameters are free",
    "aws_s3_object": "stored in its bucket (the s3 line item)",
    "aws_wafv2_web_acl_logging_configuration": "the logs are priced on their log group",
    "aws_wafv2_ip_set": "part of the web ACL's rules",
}
"""Resource types that cost nothing by themselves, with the reason."""

_REF = re.compile(r"^\$\{([a-z0-9_]+)\.([^.}]+)\.[a-z_]+\}$")


@dataclass(frozen=True)
class LineItem:
    category: str
    """``ec2``, ``ebs``, ``alb``, ``public-ipv4``, ``nat``, ``amp``, ``logs``,
    ``cloudwatch``, ``canary``, ``route53``, ``kms``, ``waf``, ``s3``, ``grafana``, ``egress``."""
    description: str
    quantity: float
    unit: str
    unit_usd: float
    monthly_usd: float
    price: str
    """The price table row (``item@region``); ``@us-east-1*`` marks a stand-in."""
    assumption: str = ""
    """The :class:`Assumptions` field(s) the quantity rests on, if any."""


@dataclass
class StackEstimate:
    name: str
    region: str
    items: list[LineItem] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)
    """What could not be priced (unknown types, instance types without a price)."""

    @property
    def monthly_usd(self) -> float:
        return round(sum(item.monthly_usd for item in self.items), 2)

    def by_category(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for item in self.items:
            totals[item.category] = totals.get(item.category, 0.0) + item.monthly_usd
        return {k: round(v, 2) for k, v in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))}


@dataclass
class Estimate:
    stacks: list[StackEstimate]
    assumptions: Assumptions

    @property
    def monthly_usd(self) -> float:
        return round(sum(stack.monthly_usd for stack in self.stacks), 2)

    def to_json(self) -> str:
        """Deterministic JSON (sorted keys, cents)."""
        return json.dumps({
            "price_date": PRICE_DATE,
            "currency": "USD",
            "basis": "AWS public on-demand list prices, no free tier, no discounts; usage from 'assumptions'",
            "monthly_usd": self.monthly_usd,
            "assumptions": asdict(self.assumptions),
            "stacks": {
                stack.name: {
                    "region": stack.region,
                    "monthly_usd": stack.monthly_usd,
                    "by_category": stack.by_category(),
                    "items": [asdict(item) for item in stack.items],
                    "unpriced": stack.unpriced,
                }
                for stack in self.stacks
            },
        }, indent=2, sort_keys=True) + "\n"


class _Stack:
    """Pricing of one document: resource handlers append line items."""

    def __init__(self, name: str, document: Mapping[str, Any], prices: PriceTable, assume: Assumptions) -> None:
        self.document = document
        self.resources: dict[str, dict[str, Any]] = document.get("resource", {}) or {}
        providers = (document.get("provider", {}) or {}).get("aws", [{}])
        region = (providers[0] if isinstance(providers, list) and providers else {}).get("region", "us-east-1")
        self.result = StackEstimate(name=name, region=region)
        self.prices = prices
        self.assume = assume
        self.hours = assume.hours_per_month

    # ---- helpers -----------------------------------------------------------------

    def each(self, kind: str) -> Iterable[tuple[str, dict[str, Any]]]:
        return sorted((self.resources.get(kind) or {}).items())

    def region_of(self, resource: Mapping[str, Any]) -> str:
        region = resource.get("region")
        return region if isinstance(region, str) and not region.startswith("${") else self.result.region

    def add(self, category: str, description: str, quantity: float, item: str, region: str, assumption: str = "") -> None:
        if quantity <= 0:
            return
        price, stand_in = self.prices.get(item, region)
        if price is None:
            self.result.unpriced.append(f"{description} (no price for {item})")
            return
        self.result.items.append(LineItem(
            category=category, description=description, quantity=round(quantity, 4), unit=price.unit,
            unit_usd=price.usd, monthly_usd=round(quantity * price.usd, 2),
            price=f"{item}@{price.region}{'*' if stand_in else ''}", assumption=assumption,
        ))

    def referenced(self, value: Any) -> tuple[str, str] | None:
        match = _REF.match(value) if isinstance(value, str) else None
        return (match.group(1), match.group(2)) if match else None

    def nodes(self) -> int:
        """Instances in the stack: single nodes plus each group's steady-state size."""
        count = len(self.resources.get("aws_instance") or {})
        for _, group in self.each("aws_autoscaling_group"):
            count += _group_size(group)
        return count

    # ---- compute and storage ---------------------------------------------------------

    def instance(self, instance_type: Any, count: float, label: str, region: str) -> None:
        if not isinstance(instance_type, str) or instance_type.startswith("${"):
            self.result.unpriced.append(f"{label}: instance type known only at deploy time")
            return
        self.add("ec2", f"{count:g} x {instance_type} ({label})", count * self.hours, f"ec2:{instance_type}", region)

    def volume(self, spec: Mapping[str, Any], count: float, label: str, region: str) -> None:
        kind = spec.get("volume_type") or spec.get("type") or "gp3"
        size = _number(spec.get("volume_size", spec.get("size")), 8)
        if kind == "gp3":
            self.add("ebs", f"{label}: {count:g} x {size:g} GB gp3", count * size, "ebs:gp3:gb", region)
            iops = _number(spec.get("iops"), 3000) - 3000
            throughput = _number(spec.get("throughput"), 125) - 125
            self.add("ebs", f"{label}: {count:g} x {iops:g} IOPS above 3,000", count * iops, "ebs:gp3:iops", region)
            self.add("ebs", f"{label}: {count:g} x {throughput:g} MB/s above 125", count * throughput,
                     "ebs:gp3:throughput", region)
        elif kind == "gp2":
            self.add("ebs", f"{label}: {count:g} x {size:g} GB gp2", count * size, "ebs:gp2:gb", region)
        else:
            self.result.unpriced.append(f"{label}: EBS volume type {kind}")

    def aws_instance(self) -> None:
        with_eip = {self.referenced(a.get("instance_id")) for _, a in self.each("aws_eip_association")}
        with_eip |= {self.referenced(e.get("instance")) for _, e in self.each("aws_eip")}
        for name, instance in self.each("aws_instance"):
            region = self.region_of(instance)
            self.instance(instance.get("instance_type"), 1, name, region)
            self.volume(instance.get("root_block_device") or {}, 1, f"{name} root", region)
            for device in _blocks(instance.get("ebs_block_device")):
                self.volume(device, 1, f"{name} {device.get('device_name', 'volume')}", region)
            public = instance.get("associate_public_ip_address") not in (False, "false")
            if public and ("aws_instance", name) not in with_eip:
                self.add("public-ipv4", f"{name}: public IPv4", self.hours, "ipv4:hour", region)

    def aws_autoscaling_group(self) -> None:
        templates = self.resources.get("aws_launch_template") or {}
        for name, group in self.each("aws_autoscaling_group"):
            region = self.region_of(group)
            size = _group_size(group)
            spec = group.get("launch_template") or {}
            spec = spec[0] if isinstance(spec, list) and spec else spec
            ref = self.referenced(spec.get("id")) if isinstance(spec, Mapping) else None
            template = templates.get(ref[1]) if ref and ref[0] == "aws_launch_template" else None
            if template is None:
                self.result.unpriced.append(f"{name}: launch template not in this stack")
                continue
            label = f"{name}, min_size {size}"
            self.instance(template.get("instance_type"), size, label, region)
            warm = _blocks(group.get("warm_pool"))
            warm_size = _number(warm[0].get("min_size"), 0) if warm else 0
            for device in _blocks(template.get("block_device_mappings")):
                device_name = str(device.get("device_name", "volume"))
                # The root device's name comes from the image at deploy time.
                label = "root" if device_name.startswith("${") else device_name
                self.volume(device.get("ebs") or {}, size + warm_size, f"{name} {label}", region)
            self.add("public-ipv4", f"{name}: {size} public IPv4", size * self.hours, "ipv4:hour", region)

    def aws_ebs_volume(self) -> None:
        for name, volume in self.each("aws_ebs_volume"):
            self.volume(volume, 1, name, self.region_of(volume))

    def aws_ebs_snapshot(self) -> None:
        for name, snapshot in self.each("aws_ebs_snapshot"):
            self.result.unpriced.append(f"{name}: snapshot size known only after it is taken")

    # ---- network -------------------------------------------------------------------

    def aws_lb(self) -> None:
        for name, balancer in self.each("aws_lb"):
            region = self.region_of(balancer)
            if (balancer.get("load_balancer_type") or "application") != "application":
                self.result.unpriced.append(f"{name}: {balancer.get('load_balancer_type')} load balancer")
                continue
            self.add("alb", f"{name}: ALB hours", self.hours, "alb:hour", region)
            self.add("alb", f"{name}: {self.assume.alb_lcu:g} LCU", self.assume.alb_lcu * self.hours, "alb:lcu",
                     region, "alb_lcu")
            if balancer.get("internal") not in (True, "true"):
                zones = len(balancer.get("subnets") or balancer.get("subnet_mapping") or ()) or 2
                self.add("public-ipv4", f"{name}: {zones} public IPv4 (one per zone)", zones * self.hours,
                         "ipv4:hour", region)

    def aws_eip(self) -> None:
        for name, address in self.each("aws_eip"):
            self.add("public-ipv4", f"{name}: Elastic IP", self.hours, "ipv4:hour", self.region_of(address))

    def aws_nat_gateway(self) -> None:
        for name, gateway in self.each("aws_nat_gateway"):
            region = self.region_of(gateway)
            self.add("nat", f"{name}: NAT gateway hours", self.hours, "nat:hour", region)
            self.add("nat", f"{name}: {self.assume.nat_gb:g} GB processed", self.assume.nat_gb, "nat:gb", region, "nat_gb")
            if gateway.get("connectivity_type", "public") == "public":
                self.add("public-ipv4", f"{name}: public IPv4", self.hours, "ipv4:hour", region)

    def egress(self) -> None:
        nodes = self.nodes()
        self.add("egress", f"{nodes} nodes x {self.assume.egress_gb_per_node:g} GB to the internet",
                 nodes * self.assume.egress_gb_per_node, "egress:gb", self.result.region, "egress_gb_per_node")

    # ---- monitoring --------------------------------------------------------------------

    def aws_prometheus_workspace(self) -> None:
        nodes = self.nodes()
        a = self.assume
        samples = nodes * a.metric_series_per_node * self.hours * 3600 / a.scrape_interval_seconds
        for name, workspace in self.each("aws_prometheus_workspace"):
            region = self.region_of(workspace)
            self.add("amp", f"{name}: {nodes} nodes x {a.metric_series_per_node} series every "
                     f"{a.scrape_interval_seconds} s", samples / 1e7, "amp:samples", region,
                     "metric_series_per_node, scrape_interval_seconds")
            stored_gb = samples * a.bytes_per_sample * 150 / 30.4 / 2**30  # AMP keeps 150 days
            self.add("amp", f"{name}: 150 days of samples stored", stored_gb, "amp:storage", region, "bytes_per_sample")

    def aws_cloudwatch_log_group(self) -> None:
        a = self.assume
        flow_groups = {self.referenced(f.get("log_destination")) for _, f in self.each("aws_flow_log")}
        nodes = self.nodes()
        for name, group in self.each("aws_cloudwatch_log_group"):
            region = self.region_of(group)
            if ("aws_cloudwatch_log_group", name) in flow_groups:
                ingest, kind, assumption = a.flow_log_gb_per_vpc, "logs:vended", "flow_log_gb_per_vpc"
            elif "journal" in str(group.get("name", "")):
                ingest, kind, assumption = nodes * a.log_gb_per_node, "logs:ingest", "log_gb_per_node"
            else:
                ingest, kind, assumption = a.log_gb_per_group, "logs:ingest", "log_gb_per_group"
            self.add("logs", f"{name}: {ingest:g} GB ingested", ingest, kind, region, assumption)
            months = min(a.stored_log_months, _number(group.get("retention_in_days"), 3653) / 30.4)
            self.add("logs", f"{name}: {months:.1f} months stored", ingest * months * a.log_compression,
                     "logs:storage", region, "stored_log_months, log_compression")

    def aws_cloudwatch_metric_alarm(self) -> None:
        for name, alarm in self.each("aws_cloudwatch_metric_alarm"):
            queries = [q for q in _blocks(alarm.get("metric_query")) if q.get("metric")]
            metrics = max(1, len(queries))
            periods = [_number(alarm.get("period"), 60)] + [_number((q.get("metric") or [{}])[0].get("period")
                                                                     if isinstance(q.get("metric"), list)
                                                                     else (q.get("metric") or {}).get("period"), 60)
                                                             for q in queries]
            item = "cloudwatch:alarm-high-resolution" if min(periods) < 60 else "cloudwatch:alarm-metric"
            self.add("cloudwatch", f"{name}: alarm on {metrics} metric(s)", metrics, item, self.region_of(alarm))

    def aws_cloudwatch_dashboard(self) -> None:
        for name, dashboard in self.each("aws_cloudwatch_dashboard"):
            self.add("cloudwatch", f"{name}: dashboard", 1, "cloudwatch:dashboard", self.region_of(dashboard))

    def aws_synthetics_canary(self) -> None:
        for name, canary in self.each("aws_synthetics_canary"):
            schedule = _blocks(canary.get("schedule"))
            minutes = _rate_minutes(schedule[0].get("expression") if schedule else None)
            if minutes is None:
                self.result.unpriced.append(f"{name}: schedule not a rate() expression")
                continue
            runs = self.hours * 60 / minutes
            self.add("canary", f"{name}: a run every {minutes:g} min", runs, "synthetics:run", self.region_of(canary))

    def aws_grafana_workspace(self) -> None:
        for name, workspace in self.each("aws_grafana_workspace"):
            self.add("grafana", f"{name}: {self.assume.grafana_editors} editor(s)", self.assume.grafana_editors,
                     "grafana:editor", self.region_of(workspace), "grafana_editors")

    # ---- DNS, keys, WAF, S3 --------------------------------------------------------------

    def aws_route53_health_check(self) -> None:
        for name, check in self.each("aws_route53_health_check"):
            kind = str(check.get("type", "HTTP"))
            features = [f for f, on in (
                ("HTTPS", kind.startswith("HTTPS")),
                ("string matching", kind.endswith("STR_MATCH")),
                ("10 s interval", _number(check.get("request_interval"), 30) == 10),
                ("latency measurement", check.get("measure_latency") in (True, "true")),
            ) if on]
            self.add("route53", f"{name}: health check of an AWS endpoint", 1, "route53:health-check", "*")
            if features:
                self.add("route53", f"{name}: {', '.join(features)}", len(features), "route53:health-check-feature", "*")

    def geo_queries(self) -> None:
        names = sorted({str(r.get("name")) for _, r in self.each("aws_route53_record")
                        if r.get("geolocation_routing_policy") or r.get("latency_routing_policy")})
        if names:
            self.add("route53", f"{len(names)} georouted name(s) x {self.assume.dns_queries_millions:g}M queries",
                     len(names) * self.assume.dns_queries_millions, "route53:geo-queries", "*", "dns_queries_millions")

    def aws_kms_key(self) -> None:
        keys = len(self.resources.get("aws_kms_key") or {})
        self.add("kms", f"{keys} customer managed keys", keys, "kms:key", "*")

    def aws_wafv2_web_acl(self) -> None:
        for name, acl in self.each("aws_wafv2_web_acl"):
            rules = len(_blocks(acl.get("rule")))
            self.add("waf", f"{name}: web ACL", 1, "waf:acl", "*")
            self.add("waf", f"{name}: {rules} rules", rules, "waf:rule", "*")
            self.add("waf", f"{name}: {self.assume.waf_requests_millions:g}M requests", self.assume.waf_requests_millions,
                     "waf:requests", "*", "waf_requests_millions")

    def aws_s3_bucket(self) -> None:
        buckets = self.each("aws_s3_bucket")
        for name, bucket in buckets:
            self.add("s3", f"{name}: {self.assume.s3_gb_per_bucket:g} GB", self.assume.s3_gb_per_bucket, "s3:gb",
                     self.region_of(bucket), "s3_gb_per_bucket")

    def aws_flow_log(self) -> None:
        """Priced on its log group (vended logs)."""


PRICED_TYPES: tuple[str, ...] = tuple(sorted(
    name for name in vars(_Stack) if name.startswith("aws_")
) + ["aws_launch_template"])
"""Resource types the estimate prices (a launch template through its group)."""

_EXTRA: tuple[Callable[[_Stack], None], ...] = (_Stack.egress, _Stack.geo_queries)


def estimate_stack(name: str, document: Mapping[str, Any], *, assumptions: Assumptions | None = None,
                   prices: PriceTable | None = None) -> StackEstimate:
    """The estimate of one synthesized stack document."""
    stack = _Stack(name, document, prices or PriceTable(), assumptions or Assumptions())
    for kind in sorted(stack.resources):
        handler = getattr(stack, kind, None) if kind in PRICED_TYPES else None
        if handler is not None:
            handler()
        elif kind not in FREE_TYPES and kind != "aws_launch_template":
            stack.result.unpriced.append(f"{len(stack.resources[kind])} x {kind} (type not in the price table)")
    for extra in _EXTRA:
        extra(stack)
    return stack.result


def estimate(documents: Mapping[str, Mapping[str, Any]], *, assumptions: Assumptions | None = None,
             prices: PriceTable | None = None) -> Estimate:
    """The estimate of several stacks, ``{stack name: Terraform JSON document}``."""
    assume = assumptions or Assumptions()
    table = prices or PriceTable()
    return Estimate(
        stacks=[estimate_stack(name, documents[name], assumptions=assume, prices=table) for name in sorted(documents)],
        assumptions=assume,
    )


def read_stacks(outdir: str | Path) -> dict[str, dict[str, Any]]:
    """The synthesized documents under ``<outdir>/stacks/``."""
    root = Path(outdir) / "stacks"
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(root.glob("*/cdk.tf.json"))}


def budget_limit(monthly_usd: float, *, headroom: float = 1.2, step: int = 100) -> int:
    """A budget limit from an estimate: ``headroom`` above it, rounded up to ``step`` dollars."""
    return max(step, int(math.ceil(monthly_usd * headroom / step)) * step)


def _group_size(group: Mapping[str, Any]) -> int:
    desired = group.get("desired_capacity")
    return int(_number(desired, _number(group.get("min_size"), 0)))


def _number(value: Any, default: float) -> float:
    if isinstance(value, bool):
        return default
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _blocks(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, Mapping):
        return [dict(value)]
    return [dict(v) for v in value or () if isinstance(v, Mapping)]


def _rate_minutes(expression: Any) -> float | None:
    match = re.match(r"^rate\((\d+) (minute|minutes|hour|hours)\)$", str(expression or ""))
    if not match:
        return None
    value = float(match.group(1))
    return value * 60 if match.group(2).startswith("hour") else value
