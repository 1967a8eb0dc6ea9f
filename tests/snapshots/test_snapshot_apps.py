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


def test_before_the_first_own_snapshot_clusters_start_from_parity_s_public_snapshot(polkadot):
    """Sources fastest first: own EBS snapshot, then the public snapshot of the same
    database kind and pruning, then sync; the restore script gets both."""
    from constructs_substrate.bootstrap.cluster_extension import restore_env

    deployment, _ = polkadot
    for region in REGIONS:
        config = deployment.clusters[region].config
        assert config.snapshot.public_url == "https://snapshots.polkadot.io/polkadot-rocksdb-prune"
        env = restore_env(config)
        assert env["EBS_PARAMETER"] == deployment.snapshot_sources[region].parameter_name
        assert env["PUBLIC_URL"] == config.snapshot.public_url and env["PUBLIC_DIR"]


def test_public_snapshot_urls_only_for_what_the_service_publishes():
    from constructs_substrate.cluster.config import public_snapshot_url

    assert public_snapshot_url("kusama", "rocksdb", False) == "https://snapshots.polkadot.io/kusama-rocksdb-prune"
    assert public_snapshot_url("polkadot", "paritydb", True) == "https://snapshots.polkadot.io/polkadot-paritydb-archive"
    assert public_snapshot_url("polkadot", "paritydb", False) is None  # no pruned ParityDB snapshot
    assert public_snapshot_url("asset-hub-polkadot", "rocksdb", False) is None
    assert public_snapshot_url("paseo", "rocksdb", False) is None
