"""The example apps' default: every region of a chain has its own SnapshotSource (a
node like the cluster's, outside the group), publishing to the parameter named for the
cluster's kind of node."""

from __future__ import annotations

import json

import pytest
from helpers import resources

from constructs_substrate._framework import App, SynthTesting
from constructs_substrate.deployment import deploy_chain
from constructs_substrate.settings import DeploymentSettings
from constructs_substrate.snapshots import parameter_name

REGIONS = ("eu-central-1", "us-east-1")


@pytest.fixture(scope="module")
def polkadot():
    app = App(stack_traces=False)
    settings = DeploymentSettings(domain="rpc.example.com", zone_name="example.com", regions=REGIONS)
    deployment = deploy_chain(app, chain="polkadot", settings=settings)
    return deployment, {region: json.loads(SynthTesting.synth(deployment.stacks[region])) for region in REGIONS}


def test_a_snapshot_source_per_region_for_the_clusters_kind_of_node(polkadot):
    deployment, documents = polkadot
    for region in REGIONS:
        source = deployment.snapshot_sources[region]
        cluster_node = deployment.clusters[region].config.node
        assert source.config.node.name == f"polkadot-snapshot-{region}"
        assert source.parameter_name == parameter_name(cluster_node)
        assert source.config.node.effective_instance_type == cluster_node.effective_instance_type
        (parameter,) = resources(documents[region], "aws_ssm_parameter").values()
        assert parameter["name"] == source.parameter_name and parameter["insecure_value"] == "none"


def test_the_source_node_is_not_in_the_serving_group(polkadot):
    deployment, documents = polkadot
    for region in REGIONS:
        instances = [i["tags"]["Name"] for i in resources(documents[region], "aws_instance").values()]
        assert f"polkadot-snapshot-{region}" in instances
        (group,) = resources(documents[region], "aws_autoscaling_group").values()
        assert "polkadot-snapshot" not in json.dumps(group)


def test_the_regions_cluster_reads_its_sources_parameter(polkadot):
    deployment, documents = polkadot
    for region in REGIONS:
        source = deployment.snapshot_sources[region]
        assert deployment.clusters[region].config.snapshot.ssm_parameter_name == source.parameter_name
        read = [name for name, body in documents[region].get("data", {}).get("aws_ssm_parameter", {}).items()
                if body["name"] == source.parameter_name]
        assert len(read) == 1
        # Read after the parameter exists (the first apply creates both): no ParameterNotFound at plan.
        (parameter,) = resources(documents[region], "aws_ssm_parameter")
        assert documents[region]["data"]["aws_ssm_parameter"][read[0]]["depends_on"] == [f"aws_ssm_parameter.{parameter}"]
        (template,) = resources(documents[region], "aws_launch_template").values()
        assert f"data.aws_ssm_parameter.{read[0]}" in json.dumps(template["block_device_mappings"])
