"""Georouting failover, evaluated: which region every continent's resolvers get from the
synthesized Route 53 records of the polkadot app's global stack, with no failure, with
each single region failing its health check, and with every region failing at once
(a chain-wide stall: every node not ready, every ALB failing open).

The answers come from :mod:`route53_model` (the documented Route 53 rules), not from
prose. The tables are printed (``pytest -s``) and must match docs/global-endpoints.md;
to rewrite them there after a deliberate change::

    CONSTRUCTS_SUBSTRATE_FRAMEWORK=cdktn .venv/bin/python tests/synth/test_georouting_failover.py
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import synth  # noqa: E402
from route53_model import CONTINENTS, Resolver, Zone, markdown_table  # noqa: E402

from constructs_substrate._framework import App  # noqa: E402
from constructs_substrate.global_endpoint import GlobalEndpoint, GlobalEndpointConfig, RegionalTarget  # noqa: E402
from constructs_substrate.regions import REGION_CONTINENT  # noqa: E402
from constructs_substrate.settings import DeploymentSettings  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "global-endpoints.md"
LOCATIONS: tuple[str | None, ...] = (*CONTINENTS, None)
"""Every continent, and ``None``: a resolver address Route 53 cannot place."""
STALL = "all (chain-wide stall)"


@dataclass
class Case:
    """One synthesized global stack and how to read it."""

    label: str
    config: GlobalEndpointConfig
    document: dict
    region_of_value: Callable[[str], str]

    @property
    def zone(self) -> Zone:
        return Zone.from_document(self.document, REGION_CONTINENT)

    def health_check_of(self, region: str) -> str:
        name = self.config.regional_name(region)
        (key,) = [k for k, c in self.zone.health_checks.items() if c["fqdn"] == name]
        return key


@functools.lru_cache(maxsize=None)
def _polkadot_app(policy: str) -> Case:
    """The polkadot app (apps/polkadot.py) with default settings, synthesized to a
    directory as ``python apps/polkadot.py`` does; its global stack's JSON."""
    spec = importlib.util.spec_from_file_location("polkadot_app", ROOT / "apps" / "polkadot.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    settings = DeploymentSettings(routing_policy=policy)
    with tempfile.TemporaryDirectory() as outdir:
        app = App(outdir=outdir, stack_traces=False)
        (deployment,) = module.build(app, settings)
        app.synth()
        document = json.loads((Path(outdir) / "stacks" / "polkadot-global" / "cdk.tf.json").read_text())

    def region_of_value(value: str) -> str:
        # The ALB name is a cross-stack reference into the region's stack, polkadot-<region>.
        (region,) = re.findall(r"cross-stack-reference-input-polkadot-([a-z0-9-]+?)\.outputs", value)
        return region

    return Case(f"polkadot app, {policy}", deployment.endpoint, document, region_of_value)


def _endpoint_only(label: str, **changes) -> Case:
    config = GlobalEndpointConfig(chain="polkadot", domain="rpc.example.com", zone_name="example.com",
                                  regions=("eu-central-1", "us-east-1", "ap-southeast-1"), **changes)
    targets = {r: RegionalTarget(alb_dns_name=f"alb-{r}.elb.amazonaws.com") for r in config.regions}
    document = synth(lambda s: GlobalEndpoint(s, "global", config=config, hosted_zone_id="Z123", targets=targets))
    return Case(label, config, document, lambda value: re.fullmatch(r"alb-(.+)\.elb\.amazonaws\.com", value).group(1))


def scenarios(case: Case) -> dict[str, set[str]]:
    """Scenario label -> regions whose health check fails."""
    regions = case.config.regions
    result = {"none": set()}
    result.update({f"{region} down": {region} for region in regions})
    result[STALL] = set(regions)
    return result


def evaluate(case: Case) -> dict[str, dict[str | None, tuple[str | None, bool]]]:
    """Scenario -> location -> (region answered or None, answered in last-resort mode)."""
    zone = case.zone
    result = {}
    for label, down in scenarios(case).items():
        resolver = Resolver(zone, {case.health_check_of(r) for r in down})
        row = {}
        for location in LOCATIONS:
            answer = resolver.resolve(case.config.global_name, "CNAME", location)
            if answer is None:
                row[location] = (None, False)
                continue
            (value,) = answer.values
            assert answer.ttl == case.config.record_ttl_seconds, f"{answer.path}: TTL {answer.ttl}"
            row[location] = (case.region_of_value(value), answer.last_resort)
        result[label] = row
    return result


def table(case: Case) -> str:
    outcome = evaluate(case)
    header = ["failing health checks", *CONTINENTS, "unplaced"]
    rows = []
    for label, down in scenarios(case).items():
        cells = [label]
        for location in LOCATIONS:
            region, last_resort = outcome[label][location]
            if region is None:
                cells.append("**no answer**")
            elif last_resort:
                cells.append(f"{region} (last resort)")
            elif region in down:
                cells.append(f"**{region} (down)**")
            else:
                cells.append(region)
        rows.append(cells)
    return markdown_table(header, rows)


def marked_block(text: str, marker: str) -> str | None:
    match = re.search(rf"<!-- {marker} -->\n(.*?)<!-- /{marker} -->", text, re.S)
    return match.group(1).rstrip("\n") if match else None


# -- the cases -----------------------------------------------------------------------

APP_CASES = {"geolocation": lambda: _polkadot_app("geolocation"), "latency": lambda: _polkadot_app("latency")}
OTHER_CASES = {
    "all continents mapped, no default record": lambda: _endpoint_only(
        "all continents mapped, no default", default_region="",
        continents={"eu-central-1": ("EU", "AF", "AN"), "us-east-1": ("NA", "SA"), "ap-southeast-1": ("AS", "OC")},
    ),
    "default region us-east-1": lambda: _endpoint_only("default us-east-1", default_region="us-east-1"),
}


@pytest.fixture(scope="module", params=[*APP_CASES, *OTHER_CASES])
def case(request) -> Case:
    return {**APP_CASES, **OTHER_CASES}[request.param]()


def test_every_record_is_health_checked_on_the_region_it_answers(case):
    """A terminal record's health check must watch the region its value sends clients to."""
    zone = case.zone
    by_fqdn = {c["fqdn"]: key for key, c in zone.health_checks.items()}
    for record in zone.records.values():
        if record.alias:
            continue
        (value,) = record.values
        region = case.region_of_value(value)
        assert record.health_check == by_fqdn[case.config.regional_name(region)], record.key
        assert record.ttl == case.config.record_ttl_seconds


def test_every_continent_gets_a_healthy_region_on_any_single_failure(case):
    outcome = evaluate(case)
    print(f"\n{case.label}\n{table(case)}")
    has_default = case.config.policy == "latency" or case.config.effective_default_region is not None
    for label, down in scenarios(case).items():
        if label == STALL:
            continue
        for location in LOCATIONS:
            if location is None and not has_default:
                continue  # documented: no default record, no answer for unplaced addresses
            region, last_resort = outcome[label][location]
            assert region is not None, f"{label}: {location} gets no answer"
            assert region not in down and not last_resort, f"{label}: {location} gets {region} (down)"


def test_chain_wide_stall_still_answers_every_continent(case):
    """Every health check fails (every node not ready): Route 53's last-resort mode
    answers anyway, each continent with the region it normally gets (whose ALB fails
    open and keeps serving)."""
    outcome = evaluate(case)
    has_default = case.config.policy == "latency" or case.config.effective_default_region is not None
    for location in LOCATIONS:
        if location is None and not has_default:
            continue
        region, last_resort = outcome[STALL][location]
        assert region is not None and last_resort, f"stall: {location} gets {region}"
        assert region == outcome["none"][location][0], f"stall moves {location} to {region}"


@pytest.mark.parametrize("policy", sorted(APP_CASES))
def test_tables_in_the_docs_are_current(policy):
    current = table(APP_CASES[policy]())
    documented = marked_block(DOC.read_text(), f"failover-table:{policy}")
    assert documented == current, (
        f"docs/global-endpoints.md's {policy} table differs from the records; run "
        "`.venv/bin/python tests/synth/test_georouting_failover.py` to rewrite it.\n" + current
    )


# -- the model on hand-written records (documented examples; not vacuous) ---------------

def _hc(key: str) -> str:
    return "${aws_route53_health_check." + key + ".id}"


def _doc(**records) -> dict:
    checks = {k: {"fqdn": f"{k}.example.com"} for k in ("eu", "us", "ap")}
    return {"resource": {"aws_route53_record": records, "aws_route53_health_check": checks}}


def _cname(name, value, check=None, **policy):
    body = {"name": name, "type": "CNAME", "ttl": 20, "records": [value], **policy}
    if check:
        body["health_check_id"] = _hc(check)
    return body


def _alias(name, target, evaluate=True, **policy):
    return {"name": name, "type": "CNAME", "alias": {"name": target, "zone_id": "Z", "evaluate_target_health": evaluate},
            **policy}


MODEL_REGIONS = {"eu": "EU", "us": "NA", "ap": "AS"}


def _answer(document, failing, location, name="www.example.com"):
    answer = Resolver(Zone.from_document(document, MODEL_REGIONS), failing).resolve(name, "CNAME", location)
    return None if answer is None else (answer.values[0], answer.last_resort)


def test_model_reproduces_the_defect_of_continent_records_plus_a_default():
    """The previous records: EU -> eu, NA -> us, * -> eu, each health-checked. With eu
    down, Europe has no healthy record: its own is down and so is the default."""
    geo = lambda code: {"geolocation_routing_policy": {"continent": code}}  # noqa: E731
    document = _doc(
        eu=_cname("www.example.com", "eu-alb", "eu", set_identifier="eu", **geo("EU")),
        us=_cname("www.example.com", "us-alb", "us", set_identifier="us", **geo("NA")),
        default=_cname("www.example.com", "eu-alb", "eu", set_identifier="default",
                       geolocation_routing_policy={"country": "*"}),
    )
    assert _answer(document, set(), "EU") == ("eu-alb", False)
    assert _answer(document, set(), "AF") == ("eu-alb", False)
    assert _answer(document, {"us"}, "NA") == ("eu-alb", False)  # NA falls back to the default
    assert _answer(document, {"eu"}, "EU") is None
    assert _answer(document, {"eu"}, "SA") is None
    assert _answer(document, {"eu", "us"}, "SA") == ("eu-alb", True)  # every record down: last resort


def test_model_failover_latency_and_alias_rules():
    latency = lambda region: {"latency_routing_policy": {"region": region}}  # noqa: E731
    document = _doc(
        n_eu=_cname("n.example.com", "eu-alb", "eu", set_identifier="n-eu", **latency("eu")),
        n_us=_cname("n.example.com", "us-alb", "us", set_identifier="n-us", **latency("us")),
        p=_cname("www.example.com", "ap-alb", "ap", set_identifier="p", failover_routing_policy={"type": "PRIMARY"}),
        s=_alias("www.example.com", "n.example.com", set_identifier="s", failover_routing_policy={"type": "SECONDARY"}),
        blind=_alias("blind.example.com", "n.example.com", evaluate=False),
    )
    assert _answer(document, set(), "OC") == ("ap-alb", False)
    assert _answer(document, {"ap"}, "EU") == ("eu-alb", False)  # secondary: nearest healthy
    assert _answer(document, {"ap", "eu"}, "EU") == ("us-alb", False)
    assert _answer(document, {"ap", "eu", "us"}, "EU") == ("ap-alb", True)  # both down: the primary
    assert _answer(document, {"eu"}, "EU", "n.example.com") == ("us-alb", False)
    assert _answer(document, {"eu", "us"}, "EU", "n.example.com") == ("eu-alb", True)
    # Without evaluate_target_health the alias is healthy whatever its target's health.
    zone = Zone.from_document(document, MODEL_REGIONS)
    assert Resolver(zone, {"eu", "us"})._healthy(zone.records["blind"], "EU", 0)


def test_model_refuses_what_it_does_not_model():
    from route53_model import ModelError

    weighted = _doc(w=_cname("www.example.com", "x", "eu", set_identifier="w", weighted_routing_policy={"weight": 1}))
    with pytest.raises(ModelError, match="not modelled"):
        Zone.from_document(weighted, MODEL_REGIONS)
    dangling = _doc(a=_alias("www.example.com", "missing.example.com"))
    with pytest.raises(ModelError, match="not in the zone"):
        Zone.from_document(dangling, MODEL_REGIONS)


if __name__ == "__main__":
    text = DOC.read_text()
    for policy, build in APP_CASES.items():
        rendered = table(build())
        marker = f"failover-table:{policy}"
        if marked_block(text, marker) is None:
            raise SystemExit(f"docs/global-endpoints.md has no <!-- {marker} --> block")
        text = re.sub(rf"(<!-- {marker} -->\n).*?(<!-- /{marker} -->)", lambda m: m.group(1) + rendered + "\n" + m.group(2),
                      text, flags=re.S)
        print(f"{policy}:\n{rendered}\n")
    DOC.write_text(text)
