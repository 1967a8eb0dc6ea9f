"""GlobalEndpoint: routed records per region plus default, health checks wired in,
invalid maps refused, and the failover time read back from the synthesized JSON."""

from __future__ import annotations

import pytest
from helpers import resources, synth

from constructs_substrate import ConfigError
from constructs_substrate.global_endpoint import GlobalEndpoint, GlobalEndpointConfig, RegionalTarget

REGIONS = ("eu-central-1", "us-east-1", "ap-southeast-1")
BASE = dict(chain="polkadot", domain="rpc.example.com", zone_name="example.com", regions=REGIONS)


def build(config: GlobalEndpointConfig):
    targets = {r: RegionalTarget(alb_dns_name=f"alb-{r}.elb.amazonaws.com") for r in config.regions}
    return synth(lambda s: GlobalEndpoint(s, "global", config=config, hosted_zone_id="Z123", targets=targets))


@pytest.fixture(scope="module")
def geo() -> dict:
    return build(GlobalEndpointConfig(**BASE))


def test_one_record_per_region_plus_default(geo):
    records = resources(geo, "aws_route53_record")
    policies = sorted(
        (r["set_identifier"], r["geolocation_routing_policy"].get("continent") or r["geolocation_routing_policy"]["country"])
        for r in records.values()
    )
    assert policies == [
        ("ap-southeast-1-AS", "AS"),
        ("eu-central-1-EU", "EU"),
        ("eu-central-1-default", "*"),
        ("us-east-1-NA", "NA"),
    ]
    assert {r["name"] for r in records.values()} == {"polkadot.rpc.example.com"}


def test_health_checks_wired_to_records(geo):
    checks = resources(geo, "aws_route53_health_check")
    assert sorted(c["fqdn"] for c in checks.values()) == [
        f"polkadot-{r}.rpc.example.com" for r in sorted(REGIONS)
    ]
    for check in checks.values():
        assert check["type"] == "HTTPS" and check["resource_path"] == "/ready" and check["enable_sni"] is True
    ids = {f"${{aws_route53_health_check.{key}.id}}" for key in checks}
    assert {r["health_check_id"] for r in resources(geo, "aws_route53_record").values()} == ids


def failover_from_json(document: dict) -> int:
    """Worst case over regions: detection (interval x threshold) + the record TTL."""
    checks = resources(document, "aws_route53_health_check")
    worst = 0
    for record in resources(document, "aws_route53_record").values():
        key = record["health_check_id"].split(".")[1]
        check = checks[key]
        worst = max(worst, check["request_interval"] * check["failure_threshold"] + record["ttl"])
    return worst


def test_failover_time_matches_documentation(geo):
    seconds = failover_from_json(geo)
    assert seconds == GlobalEndpointConfig(**BASE).failover_seconds == 40
    assert seconds <= 60
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "global-endpoints.md").read_text()
    assert f"**{seconds} s**" in doc


def test_latency_policy():
    document = build(GlobalEndpointConfig(**BASE, policy="latency"))
    records = resources(document, "aws_route53_record").values()
    assert sorted(r["latency_routing_policy"]["region"] for r in records) == sorted(REGIONS)


INVALID = [
    (dict(regions=("eu-central-1", "mars-1")), "GlobalEndpointConfig.regions", "unknown AWS region"),
    (dict(regions=("eu-central-1", "eu-central-1")), "GlobalEndpointConfig.regions", "duplicated"),
    (dict(default_region="", continents={"eu-central-1": ("EU",)}), "GlobalEndpointConfig.continents", "no default"),
    (dict(domain="rpc.other.org"), "GlobalEndpointConfig.domain", "outside the hosted zone"),
    (dict(continents={"eu-west-1": ("EU",)}), "GlobalEndpointConfig.continents", "not one of regions"),
    (dict(continents={"eu-central-1": ("EUROPE",)}), "GlobalEndpointConfig.continents", "continent codes"),
    (dict(default_region="us-west-2"), "GlobalEndpointConfig.default_region", "not one of regions"),
    (dict(record_ttl_seconds=60), "GlobalEndpointConfig.record_ttl_seconds", "exceeds"),
    (dict(domain="not a domain"), "GlobalEndpointConfig.domain", "valid DNS name"),
]


@pytest.mark.parametrize("changes,field,fragment", INVALID)
def test_invalid_global_config(changes, field, fragment):
    with pytest.raises(ConfigError) as raised:
        GlobalEndpointConfig(**{**BASE, **changes})
    assert field in raised.value.fields, str(raised.value)
    assert fragment in str(raised.value)


def test_all_continents_mapped_without_default_is_valid():
    config = GlobalEndpointConfig(
        **BASE, default_region="",
        continents={"eu-central-1": ("EU", "AF", "AN"), "us-east-1": ("NA", "SA"), "ap-southeast-1": ("AS", "OC")},
    )
    assert config.effective_default_region is None


def test_targets_must_match_regions():
    config = GlobalEndpointConfig(**BASE)
    with pytest.raises(ConfigError) as raised:
        synth(lambda s: GlobalEndpoint(s, "g", config=config, hosted_zone_id="Z1", targets={"eu-central-1": RegionalTarget("x")}))
    assert raised.value.fields == ("GlobalEndpoint.targets",)
