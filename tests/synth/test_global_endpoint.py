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


def _policy(record: dict) -> str:
    for kind in ("geolocation", "latency", "failover"):
        policy = record.get(f"{kind}_routing_policy")
        if policy:
            return policy.get("continent") or policy.get("country") or policy.get("region") or policy.get("type")
    return "simple"


def test_public_name_has_one_alias_per_continent_plus_default(geo):
    records = resources(geo, "aws_route53_record")
    public = sorted(
        (r["set_identifier"], _policy(r), r["alias"]["name"])
        for r in records.values() if r["name"] == "polkadot.rpc.example.com"
    )
    assert public == [
        ("ap-southeast-1-AS", "AS", "ap-southeast-1.routing.polkadot.rpc.example.com"),
        ("eu-central-1-EU", "EU", "eu-central-1.routing.polkadot.rpc.example.com"),
        ("eu-central-1-default", "*", "eu-central-1.routing.polkadot.rpc.example.com"),
        ("us-east-1-NA", "NA", "us-east-1.routing.polkadot.rpc.example.com"),
    ]


def test_each_served_region_fails_over_to_the_nearest_healthy_region(geo):
    records = resources(geo, "aws_route53_record")
    by_name: dict[str, list[tuple[str, str, str]]] = {}
    for r in records.values():
        target = r["alias"]["name"] if "alias" in r else r["records"][0]
        by_name.setdefault(r["name"], []).append((r["set_identifier"], _policy(r), target))
    for region in REGIONS:
        assert sorted(by_name[f"{region}.routing.polkadot.rpc.example.com"]) == [
            (f"{region}-primary", "PRIMARY", f"alb-{region}.elb.amazonaws.com"),
            (f"{region}-secondary", "SECONDARY", "nearest.routing.polkadot.rpc.example.com"),
        ]
    assert sorted(by_name["nearest.routing.polkadot.rpc.example.com"]) == sorted(
        (f"nearest-{r}", r, f"alb-{r}.elb.amazonaws.com") for r in REGIONS
    )
    assert len(records) == 4 + 2 * 3 + 3


def test_aliases_wait_for_their_target_and_only_the_secondary_evaluates_it(geo):
    records = resources(geo, "aws_route53_record")
    names = {key: r["name"] for key, r in records.items()}
    for key, r in records.items():
        if "alias" not in r:
            continue
        secondary = r.get("failover_routing_policy", {}).get("type") == "SECONDARY"
        assert r["alias"]["evaluate_target_health"] is secondary and r["alias"]["zone_id"] == "Z123", key
        assert "ttl" not in r and "health_check_id" not in r, "an alias answers with its target's TTL and health"
        waited = {names[ref.split(".")[1]] for ref in r["depends_on"]}
        assert waited == {r["alias"]["name"]}, key


def test_health_checks_wired_to_records(geo):
    checks = resources(geo, "aws_route53_health_check")
    assert sorted(c["fqdn"] for c in checks.values()) == [
        f"polkadot-{r}.rpc.example.com" for r in sorted(REGIONS)
    ]
    for check in checks.values():
        assert check["type"] == "HTTPS" and check["resource_path"] == "/ready" and check["enable_sni"] is True
    ids = {f"${{aws_route53_health_check.{key}.id}}" for key in checks}
    terminal = [r for r in resources(geo, "aws_route53_record").values() if "alias" not in r]
    assert {r["health_check_id"] for r in terminal} == ids
    for record in terminal:
        key = record["health_check_id"].split(".")[1]
        assert record["records"] == [f"alb-{checks[key]['fqdn'].split('-', 1)[1].split('.')[0]}.elb.amazonaws.com"]


def failover_from_json(document: dict) -> int:
    """Worst case over the records that answer (aliases answer with their target's
    TTL and health): detection (interval x threshold) + the record TTL."""
    checks = resources(document, "aws_route53_health_check")
    worst = 0
    for record in resources(document, "aws_route53_record").values():
        if "alias" in record:
            continue
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
