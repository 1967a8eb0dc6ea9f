"""The network composition (deploy_chain): a stack per region with its own provider,
certificates with every name, a global stack routing to every region."""

from __future__ import annotations

import json

import pytest
from helpers import resources

from constructs_substrate._framework import App, SynthTesting
from constructs_substrate.deployment import deploy_chain
from constructs_substrate.settings import DeploymentSettings

REGIONS = ("eu-central-1", "us-east-1", "ap-southeast-1")


@pytest.fixture(scope="module")
def polkadot() -> dict[str, dict]:
    app = App(stack_traces=False)
    settings = DeploymentSettings(domain="rpc.example.com", zone_name="example.com", regions=REGIONS, validators=2)
    deployment = deploy_chain(app, chain="polkadot", settings=settings, validators=2)
    return {name: json.loads(SynthTesting.synth(stack)) for name, stack in deployment.stacks.items()}


def test_one_stack_and_provider_per_region(polkadot):
    assert set(polkadot) == {*REGIONS, "global", "validation"}
    for region in REGIONS:
        (provider,) = polkadot[region]["provider"]["aws"]
        assert provider["region"] == region


def test_certificate_covers_regional_and_global_names(polkadot):
    for region in REGIONS:
        (certificate,) = resources(polkadot[region], "aws_acm_certificate").values()
        names = {certificate["domain_name"], *certificate.get("subject_alternative_names", [])}
        assert names == {f"polkadot-{region}.rpc.example.com", "polkadot.rpc.example.com"}
        # The global name's validation record belongs to the validation stack
        # (tests/synth/test_shared_resources.py): one record here, the regional name's.
        validations = [r for r in resources(polkadot[region], "aws_route53_record").values() if r.get("type") != "A"]
        assert len(validations) == 1
        (validation,) = resources(polkadot[region], "aws_acm_certificate_validation").values()
        assert len(validation["validation_record_fqdns"]) == 2


def test_global_stack_routes_to_every_region_with_a_default(polkadot):
    records = resources(polkadot["global"], "aws_route53_record").values()
    public = sorted(r["set_identifier"] for r in records if r["name"] == "polkadot.rpc.example.com")
    assert public == ["ap-southeast-1-AS", "eu-central-1-EU", "eu-central-1-default", "us-east-1-NA"]
    # Every answer is a regional ALB (aliases lead to them: docs/global-endpoints.md).
    assert all("dns_name" in r["records"][0] for r in records if "alias" not in r)
    assert len(resources(polkadot["global"], "aws_route53_health_check")) == 3


def test_validators_only_in_first_region(polkadot):
    def validators(document):
        return [i for i in resources(document, "aws_instance").values() if i["tags"].get("substrate:role") == "validator"]

    assert len(validators(polkadot["eu-central-1"])) == 2
    assert validators(polkadot["us-east-1"]) == [] and validators(polkadot["ap-southeast-1"]) == []


def test_monitoring_per_region_budget_once(polkadot):
    for region in REGIONS:
        assert resources(polkadot[region], "aws_prometheus_workspace")
        assert resources(polkadot[region], "aws_synthetics_canary")
    budgets = [region for region in REGIONS if resources(polkadot[region], "aws_budgets_budget")]
    assert budgets == ["eu-central-1"]


def test_parachain_nodes_follow_the_relay_endpoints():
    from constructs_substrate.deployment import ChainDeployment
    from constructs_substrate.global_endpoint import GlobalEndpointConfig

    app = App(stack_traces=False)
    settings = DeploymentSettings(domain="example.com", regions=("eu-central-1",))
    relay = ChainDeployment(
        chain="polkadot",
        endpoint=GlobalEndpointConfig(chain="polkadot", domain="example.com", zone_name="example.com", regions=("eu-central-1",)),
    )
    deployment = deploy_chain(app, chain="asset-hub-polkadot", settings=settings, relay=relay, monitoring=False)
    node = deployment.clusters["eu-central-1"].config.node
    assert node.relay_chain_rpc_urls == ("wss://polkadot-eu-central-1.example.com", "wss://polkadot.example.com")
    assert not node.embedded_relay


def test_route53_health_checks_alarm_in_us_east_1(polkadot):
    alarms = [a for a in resources(polkadot["global"], "aws_cloudwatch_metric_alarm").values()
              if a["metric_name"] == "HealthCheckStatus"]
    assert len(alarms) == 3
    assert all(a["namespace"] == "AWS/Route53" and a["alarm_actions"] for a in alarms)
    (provider,) = polkadot["global"]["provider"]["aws"]
    assert provider["region"] == "us-east-1"
