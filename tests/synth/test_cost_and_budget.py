"""The example apps' cost estimate and budget (issue 12 item 4): every resource type the
apps create is priced or listed as free; each app's budget counts its own chain's tag
with a limit derived from its estimate; the cost allocation tag has one owner."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from helpers import resources

from constructs_substrate._framework import App, SynthTesting
from constructs_substrate.cost import FREE_TYPES, PRICED_TYPES, budget_limit, estimate
from constructs_substrate.deployment import CHAIN_TAG, deploy_chain
from constructs_substrate.settings import DeploymentSettings

ROOT = Path(__file__).resolve().parents[2]
APPS = ("polkadot", "kusama", "asset_hub_polkadot")
DIGEST = "@sha256:" + "a" * 64
# Every optional part the settings can switch on, so its resource types are covered too.
EVERYTHING = dict(
    alert_email="oncall@example.org", cost_tag_owner="polkadot", status_page_repository="acme/status",
    telemetry_backend_image="docker.io/parity/substrate-telemetry-backend" + DIGEST,
    telemetry_frontend_image="docker.io/parity/substrate-telemetry-frontend" + DIGEST,
)


def build_app(name: str, settings: DeploymentSettings):
    spec = importlib.util.spec_from_file_location(f"app_{name}", ROOT / "apps" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app = App(stack_traces=False)
    return module.build(app, settings)


def documents(deployments) -> dict[str, dict]:
    return {stack.node.id: json.loads(SynthTesting.synth(stack))
            for deployment in deployments for stack in deployment.stacks.values()}


@pytest.fixture(scope="module")
def default_polkadot():
    (deployment,) = build_app("polkadot", DeploymentSettings())
    return deployment, documents([deployment])


@pytest.fixture(scope="module")
def everything() -> dict[str, tuple]:
    built = {}
    for name in APPS:
        deployments = build_app(name, DeploymentSettings(**EVERYTHING))
        built[name] = (deployments, documents(deployments))
    return built


def test_every_resource_type_the_apps_create_is_priced_or_free(everything, default_polkadot):
    types = {kind for _, docs in [*everything.values(), ([], default_polkadot[1])]
             for document in docs.values() for kind in document.get("resource", {})}
    missing = sorted(types - set(PRICED_TYPES) - set(FREE_TYPES))
    assert not missing, (f"new resource types {missing}: price them in constructs_substrate/cost/estimate.py "
                         "(and prices.py) or list them in FREE_TYPES with the reason")


def test_the_apps_estimates_price_everything(everything):
    for name, (_, docs) in everything.items():
        result = estimate(docs)
        assert all(stack.unpriced == [] for stack in result.stacks), (name, [s.unpriced for s in result.stacks])
        assert result.monthly_usd > 500, name


def test_budget_counts_the_apps_own_chain_tag_with_a_derived_limit(default_polkadot):
    deployment, docs = default_polkadot
    budgets = [b for d in docs.values() for b in resources(d, "aws_budgets_budget").values()]
    (budget,) = budgets
    assert budget["cost_filter"] == [{"name": "TagKeyValue", "values": [f"user:{CHAIN_TAG}$polkadot"]}]
    expected = budget_limit(estimate(docs).monthly_usd)
    assert budget["limit_amount"] == f"{expected:.2f}" == f"{deployment.budget_usd:.2f}"
    assert expected > 3000, "today's fixed $3,000 is below the default app's estimate"
    # The tag the budget counts is on every resource: each provider's default tags.
    for document in docs.values():
        (provider,) = document["provider"]["aws"]
        assert provider["default_tags"][0]["tags"][CHAIN_TAG] == "polkadot"
    # No settings: nobody activates the account-wide tag (the summary says how).
    assert not [d for d in docs.values() if resources(d, "aws_ce_cost_allocation_tag")]


def test_budget_setting_wins_over_the_estimate():
    (deployment,) = build_app("polkadot", DeploymentSettings(monthly_budget_usd=1234, regions=("eu-central-1",)))
    (budget,) = [b for d in documents([deployment]).values() for b in resources(d, "aws_budgets_budget").values()]
    assert budget["limit_amount"] == "1234.00" and deployment.cost_estimate is None


def test_cost_allocation_tag_has_exactly_one_owner(everything):
    owners = {name: [stack for stack, d in docs.items() if resources(d, "aws_ce_cost_allocation_tag")]
              for name, (_, docs) in everything.items()}
    assert owners == {"polkadot": ["polkadot-global"], "kusama": [], "asset_hub_polkadot": []}
    (tag,) = resources(everything["polkadot"][1]["polkadot-global"], "aws_ce_cost_allocation_tag").values()
    assert (tag["tag_key"], tag["status"]) == (CHAIN_TAG, "Active")


def test_alert_email_subscribes_every_topic(everything):
    """Every topic an alarm notifies has the receiver (the clusters' alarms used a topic
    of their own that nobody subscribed to)."""
    docs = everything["polkadot"][1]
    topics = sum(len(resources(d, "aws_sns_topic")) for d in docs.values())
    emails = [s for d in docs.values() for s in resources(d, "aws_sns_topic_subscription").values()]
    assert topics and len(emails) == topics and {s["endpoint"] for s in emails} == {"oncall@example.org"}


def test_cluster_alarms_notify_the_monitoring_topic(default_polkadot):
    _, docs = default_polkadot
    document = docs["polkadot-eu-central-1"]
    (topic,) = [name for name in resources(document, "aws_sns_topic") if name.startswith("monitoring_alerts")]
    cluster = [a for n, a in resources(document, "aws_cloudwatch_metric_alarm").items() if n.startswith("rpc_alarms")]
    assert cluster and all(a["alarm_actions"] == [f"${{aws_sns_topic.{topic}.arn}}"] for a in cluster)
