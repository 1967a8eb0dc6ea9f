"""The price table of the cost estimate: AWS public on-demand list prices (USD, Linux,
no free tier, no Savings Plans or Reserved Instances) for the regions the example apps
use, one row per figure with its source and whether it was checked.

``checked`` says how far a row was verified on :data:`PRICE_DATE`: ``"source"`` (the
figure was read on the page named in ``source``), or ``"not checked: ..."`` (the figure
is AWS's published list price as this library's authors know it, but no primary page
with that figure was available to check it against; verify it on the ``source`` page
or with the AWS Price List API before relying on it). Prices change: the date of the
table is printed with every estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICE_DATE = "2026-12-02"
"""When the table was compiled."""

ANY_REGION = "*"
"""``Price.region`` of a figure that is the same in every region."""

EC2 = "https://aws.amazon.com/ec2/pricing/on-demand/"
EBS = "https://aws.amazon.com/ebs/pricing/"
ELB = "https://aws.amazon.com/elasticloadbalancing/pricing/"
VPC = "https://aws.amazon.com/vpc/pricing/"
AMP = "https://aws.amazon.com/prometheus/pricing/"
CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/"
ROUTE53 = "https://aws.amazon.com/route53/pricing/"
KMS = "https://aws.amazon.com/kms/pricing/"
WAF = "https://aws.amazon.com/waf/pricing/"
S3 = "https://aws.amazon.com/s3/pricing/"
GRAFANA = "https://aws.amazon.com/grafana/pricing/"

UNCHECKED = "not checked: no primary page with this figure was available; verify on the source page"


@dataclass(frozen=True)
class Price:
    """One figure of the table."""

    item: str
    """What is priced, e.g. ``ec2:m7i.2xlarge`` or ``ebs:gp3:gb``."""
    region: str
    """AWS region, or :data:`ANY_REGION`."""
    usd: float
    """US dollars per ``unit``."""
    unit: str
    """``hour``, ``GB-month``, ``IOPS-month``, ``MBps-month``, ``GB``, ``month``..."""
    source: str
    """The AWS pricing page of this figure."""
    checked: str = UNCHECKED
    """``"source"`` when the figure was read on ``source``; otherwise why not."""


def _rows(item: str, unit: str, source: str, by_region: dict[str, float], checked: str = UNCHECKED) -> list[Price]:
    return [Price(item, region, usd, unit, source, checked) for region, usd in by_region.items()]


_E, _U, _A = "eu-central-1", "us-east-1", "ap-southeast-1"

PRICES: tuple[Price, ...] = tuple(
    # -- EC2 instances (Linux, on demand) -------------------------------------------
    _rows("ec2:m7i.large", "hour", EC2, {_U: 0.1008, _E: 0.121, _A: 0.126})
    + _rows("ec2:m7i.xlarge", "hour", EC2, {_U: 0.2016, _E: 0.2419, _A: 0.252})
    + _rows("ec2:m7i.2xlarge", "hour", EC2, {_U: 0.4032, _E: 0.4838, _A: 0.504})
    + _rows("ec2:m7i.4xlarge", "hour", EC2, {_U: 0.8064, _E: 0.9677, _A: 1.008})
    + _rows("ec2:c7i.large", "hour", EC2, {_U: 0.08925, _E: 0.10185, _A: 0.1029})
    + _rows("ec2:c7i.2xlarge", "hour", EC2, {_U: 0.357, _E: 0.4074, _A: 0.4116})
    + _rows("ec2:c7i.4xlarge", "hour", EC2, {_U: 0.714, _E: 0.8148, _A: 0.8232})
    # -- EBS (gp3: 3,000 IOPS and 125 MB/s included; gp2) --------------------------
    + _rows("ebs:gp3:gb", "GB-month", EBS, {_U: 0.08, _E: 0.0952, _A: 0.096})
    + _rows("ebs:gp3:iops", "IOPS-month", EBS, {_U: 0.005, _E: 0.006, _A: 0.006})
    + _rows("ebs:gp3:throughput", "MBps-month", EBS, {_U: 0.04, _E: 0.048, _A: 0.048})
    + _rows("ebs:gp2:gb", "GB-month", EBS, {_U: 0.10, _E: 0.119, _A: 0.12})
    + _rows("ebs:snapshot:gb", "GB-month", EBS, {_U: 0.05, _E: 0.054, _A: 0.05})
    # -- load balancers, NAT, addresses, egress ----------------------------------------
    + _rows("alb:hour", "hour", ELB, {_U: 0.0225, _E: 0.027, _A: 0.0252})
    + _rows("alb:lcu", "LCU-hour", ELB, {_U: 0.008, _E: 0.008, _A: 0.008})
    + _rows("nat:hour", "hour", VPC, {_U: 0.045, _E: 0.052, _A: 0.059})
    + _rows("nat:gb", "GB", VPC, {_U: 0.045, _E: 0.052, _A: 0.059})
    + [Price("ipv4:hour", ANY_REGION, 0.005, "hour", VPC,
             "source (public IPv4 charge since 2024-02-01, $0.005 per IP-hour in every region; also "
             "the EC2 API reference of map_public_ip_on_launch)")]
    + _rows("egress:gb", "GB", EC2 + "#Data_Transfer", {_U: 0.09, _E: 0.09, _A: 0.12})
    # -- monitoring -----------------------------------------------------------------
    + _rows("amp:samples", "10M samples", AMP, {_U: 0.90, _E: 1.07, _A: 1.07})
    + [Price("amp:storage", ANY_REGION, 0.03, "GB-month", AMP)]
    + _rows("logs:ingest", "GB", CLOUDWATCH, {_U: 0.50, _E: 0.63, _A: 0.70})
    + _rows("logs:vended", "GB", CLOUDWATCH, {_U: 0.50, _E: 0.63, _A: 0.70})
    + _rows("logs:storage", "GB-month", CLOUDWATCH, {_U: 0.03, _E: 0.0324, _A: 0.033})
    + [Price("cloudwatch:alarm-metric", ANY_REGION, 0.10, "metric-month", CLOUDWATCH),
       Price("cloudwatch:alarm-high-resolution", ANY_REGION, 0.30, "metric-month", CLOUDWATCH),
       Price("cloudwatch:dashboard", ANY_REGION, 3.00, "month", CLOUDWATCH)]
    + [Price("synthetics:run", _U, 0.0012, "run", CLOUDWATCH,
             "source (third-party pages quote $0.0012 per canary run in US regions; the AWS page itself was "
             "not available)")]
    + _rows("synthetics:run", "run", CLOUDWATCH, {_E: 0.0016, _A: 0.0017})
    + [Price("grafana:editor", ANY_REGION, 9.00, "editor-month", GRAFANA)]
    # -- DNS, keys, WAF, S3 ----------------------------------------------------------
    + [Price("route53:health-check", ANY_REGION, 0.50, "month", ROUTE53,
             "source (Route 53 console and guides: $0.50 a month per check of an AWS endpoint, $0.75 "
             "otherwise, plus a charge per optional feature)"),
       Price("route53:health-check-feature", ANY_REGION, 1.00, "month", ROUTE53),
       Price("route53:geo-queries", ANY_REGION, 0.70, "million queries", ROUTE53),
       Price("kms:key", ANY_REGION, 1.00, "month", KMS),
       Price("waf:acl", ANY_REGION, 5.00, "month", WAF),
       Price("waf:rule", ANY_REGION, 1.00, "month", WAF),
       Price("waf:requests", ANY_REGION, 0.60, "million requests", WAF)]
    + _rows("s3:gb", "GB-month", S3, {_U: 0.023, _E: 0.0245, _A: 0.025})
)


class PriceTable:
    """Lookup over :data:`PRICES`: the region's figure, else the region-independent one,
    else the us-east-1 figure (reported as an assumption by the estimate)."""

    FALLBACK_REGION = "us-east-1"

    def __init__(self, prices: tuple[Price, ...] = PRICES) -> None:
        self._rows = {(p.item, p.region): p for p in prices}

    def get(self, item: str, region: str) -> tuple[Price | None, bool]:
        """The price of ``item`` in ``region`` and whether it is a stand-in from another region."""
        for candidate, fallback in ((region, False), (ANY_REGION, False), (self.FALLBACK_REGION, True)):
            price = self._rows.get((item, candidate))
            if price is not None:
                return price, fallback and candidate != region
        return None, False

    def rows(self) -> list[Price]:
        return sorted(self._rows.values(), key=lambda p: (p.item, p.region))
