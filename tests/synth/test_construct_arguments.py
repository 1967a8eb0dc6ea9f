"""Issue 12 items 14 and 17: every construct checks its keyword arguments with a
ConfigError naming the argument (never a TypeError, never a message per character of
a string given for a list), before any resource; ``deploy_chain`` takes a ``Chain``
and settings move the apps to another polkadot-sdk release."""

from __future__ import annotations

import pytest
from helpers import synth

from constructs_substrate import (
    CATALOG, ApiClusterConfig, Artifact, AutoscalingApiCluster, BinaryRelease, Chain, ChainSpecSource,
    ConfigError, DbSizes, GlobalEndpoint, GlobalEndpointConfig, Monitoring, NodeConfig, NodeNetwork,
    RegionalTarget, SubstrateNode,
)
from constructs_substrate._framework import App
from constructs_substrate.deployment import deploy_chain
from constructs_substrate.settings import DeploymentSettings

SUBNET = "subnet-0123456789abcdef0"
SUBNETS = [SUBNET, "subnet-0fedcba9876543210"]
VPC = "vpc-0123456789abcdef0"
NODE = NodeConfig(role="rpc", name="r")
CLUSTER = ApiClusterConfig(node=NODE, domain_name="a.example.com", zone_name="example.com", hosted_zone_id="Z0123456789")
ENDPOINT = GlobalEndpointConfig(chain="polkadot", domain="example.com", zone_name="example.com", regions=("eu-central-1",))
TARGETS = {"eu-central-1": RegionalTarget("alb-1.eu-central-1.elb.amazonaws.com")}

CASES = [
    ("node subnet None", lambda s: SubstrateNode(s, "n", config=NODE, subnet_id=None), {"SubstrateNode.subnet_id"}),
    ("node subnet list", lambda s: SubstrateNode(s, "n", config=NODE, subnet_id=SUBNETS), {"SubstrateNode.subnet_id"}),
    ("node config dict", lambda s: SubstrateNode(s, "n", config={"role": "rpc"}, subnet_id=SUBNET), {"SubstrateNode.config"}),
    ("node agents", lambda s: SubstrateNode(s, "n", config=NODE, subnet_id=SUBNET, agents={}), {"SubstrateNode.agents"}),
    ("node statements", lambda s: SubstrateNode(s, "n", config=NODE, subnet_id=SUBNET, statements={"Effect": "Allow"}),
     {"SubstrateNode.statements"}),
    ("cluster subnets string", lambda s: AutoscalingApiCluster(s, "c", config=CLUSTER, vpc_id=VPC, subnet_ids=SUBNET),
     {"AutoscalingApiCluster.subnet_ids"}),
    ("cluster None", lambda s: AutoscalingApiCluster(s, "c", config=CLUSTER, vpc_id=None, subnet_ids=None),
     {"AutoscalingApiCluster.vpc_id", "AutoscalingApiCluster.subnet_ids"}),
    ("cluster load balancer", lambda s: AutoscalingApiCluster(s, "c", config=CLUSTER, vpc_id=VPC, subnet_ids=SUBNETS,
                                                              load_balancer="alb"), {"AutoscalingApiCluster.load_balancer"}),
    ("cluster config", lambda s: AutoscalingApiCluster(s, "c", config=NODE, vpc_id=VPC, subnet_ids=SUBNETS),
     {"AutoscalingApiCluster.config"}),
    ("endpoint zone None", lambda s: GlobalEndpoint(s, "g", config=ENDPOINT, hosted_zone_id=None, targets=TARGETS),
     {"GlobalEndpoint.hosted_zone_id"}),
    ("endpoint targets list", lambda s: GlobalEndpoint(s, "g", config=ENDPOINT, hosted_zone_id="Z1", targets=["x"]),
     {"GlobalEndpoint.targets"}),
    ("endpoint target str", lambda s: GlobalEndpoint(s, "g", config=ENDPOINT, hosted_zone_id="Z1",
                                                     targets={"eu-central-1": "alb.example.com"}),
     {"GlobalEndpoint.targets.eu-central-1"}),
    ("endpoint config None", lambda s: GlobalEndpoint(s, "g", config=None, hosted_zone_id="Z1", targets=TARGETS),
     {"GlobalEndpoint.config"}),
    ("regional target None", lambda s: RegionalTarget(None), {"RegionalTarget.alb_dns_name"}),
    ("monitoring config dict", lambda s: Monitoring(s, "m", config={"name": "x"}), {"Monitoring.config"}),
    ("network az_count text", lambda s: NodeNetwork(s, "v", az_count="2"), {"NodeNetwork.az_count"}),
    ("network retention", lambda s: NodeNetwork(s, "v", flow_log_retention_days=31), {"NodeNetwork.flow_log_retention_days"}),
]


@pytest.mark.parametrize("build,fields", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_arguments_are_a_config_error_before_any_resource(build, fields):
    created = []

    def build_and_record(stack):
        try:
            build(stack)
        finally:
            created.extend(child.node.id for child in stack.node.children if child.node.id != "aws")

    with pytest.raises(ConfigError) as raised:
        synth(build_and_record)
    assert set(raised.value.fields) == fields, str(raised.value)
    assert created == [], f"resources were created before the error: {created}"
    for problem in raised.value.problems:  # what to pass, once (never one line per character)
        assert "'s', 'u', 'b'" not in problem.message, problem
        assert any(hint in problem.message for hint in ("e.g.", " like ", "must be a")), problem


def test_a_string_for_subnet_ids_is_reported_once_not_per_character():
    with pytest.raises(ConfigError) as raised:
        synth(lambda s: AutoscalingApiCluster(s, "c", config=CLUSTER, vpc_id=VPC, subnet_ids=SUBNET))
    (problem,) = raised.value.problems
    assert problem.message.startswith("give a list of ids, e.g. ['subnet-") and f"not one string {SUBNET!r}" in problem.message


# ---- deploy_chain ---------------------------------------------------------------

SETTINGS = DeploymentSettings(regions=("eu-central-1",), validators=0)
MYCHAIN = Chain(
    name="mychain",
    release=BinaryRelease(version="v1.2.3", artifacts=[
        Artifact(name="mynode", url="https://downloads.example.com/v1.2.3/mynode", sha256="ab" * 32)]),
    db_size_gib=DbSizes(pruned=50, archive=200),
    chain_spec=ChainSpecSource(url="https://downloads.example.com/spec.json", sha256="cd" * 32),
)


def test_deploy_chain_takes_a_chain_object():
    app = App(stack_traces=False)
    deployment = deploy_chain(app, chain=MYCHAIN, settings=SETTINGS, monitoring=False)
    assert deployment.chain == "mychain"
    assert {"eu-central-1", "global"} <= set(deployment.stacks)
    assert deployment.stacks["eu-central-1"].node.id == "mychain-eu-central-1"
    node = deployment.clusters["eu-central-1"].config.node
    assert node.chain == MYCHAIN
    assert "https://downloads.example.com/v1.2.3/mynode" in str(deployment.clusters["eu-central-1"].bootstrap.files)
    assert deployment.endpoint.global_name == "mychain.example.com"


def test_settings_release_moves_the_app_to_that_tag():
    app = App(stack_traces=False)
    settings = SETTINGS.replace(release="polkadot-stable2606-2")
    deployment = deploy_chain(app, chain="kusama", settings=settings, validators=1, monitoring=False)
    nodes = [deployment.clusters["eu-central-1"].config.node, *(v.config for v in deployment.validators)]
    assert [n.chain.release.version for n in nodes] == ["polkadot-stable2606-2"] * 2
    assert "/polkadot-stable2606-2/polkadot" in str(deployment.clusters["eu-central-1"].bootstrap.files)
    assert CATALOG["kusama"].release.version != "polkadot-stable2606-2"


@pytest.mark.parametrize("chain,settings,field", [
    ("polkadott", SETTINGS, "deploy_chain.chain"),
    (42, SETTINGS, "deploy_chain.chain"),
    ("polkadot", {"domain": "example.com"}, "deploy_chain.settings"),
    (MYCHAIN, SETTINGS.replace(release="polkadot-stable2606-2"), "DeploymentSettings.release"),
])
def test_deploy_chain_bad_arguments(chain, settings, field):
    with pytest.raises(ConfigError) as raised:
        deploy_chain(App(stack_traces=False), chain=chain, settings=settings, monitoring=False)
    assert raised.value.fields == (field,), str(raised.value)
