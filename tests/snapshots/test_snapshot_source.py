"""``SnapshotSource`` synthesized: the parameter clusters read (created as ``none``,
never reset by an apply), the producer's IAM scoped to its volume, tag and parameter,
the timer that schedules it (checked by ``systemd-analyze verify``), and the config's
refusals."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from helpers import only, resources, synth

from constructs_substrate import ConfigError, NodeConfig
from constructs_substrate.snapshots import SnapshotSource, SnapshotSourceConfig, parameter_name
from constructs_substrate.snapshots.extension import CONFIG_FILE, SERVICE, TIMER
from constructs_substrate.snapshots.producer import TAG_SOURCE

SUBNET = "subnet-0123456789abcdef0"


def build(**fields):
    made = {}

    def stack(scope):
        made["source"] = SnapshotSource(scope, "snapshots", config=SnapshotSourceConfig(
            node=NodeConfig(role="rpc", name="polkadot-snapshot-eu"), **fields), subnet_id=SUBNET)

    document = synth(stack)
    return document, made["source"]


@pytest.fixture(scope="module")
def built():
    return build()


def statements(document) -> dict[str, dict]:
    policy = next(p for p in resources(document, "aws_iam_role_policy").values() if p["name"] == "snapshot-producer")
    return {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}


def test_the_parameter_starts_as_none_and_an_apply_never_resets_it(built):
    document, source = built
    parameter = only(document, "aws_ssm_parameter")
    assert parameter["name"] == source.parameter_name == "/substrate/polkadot/rocksdb-pruned/snapshot-id"
    assert parameter["type"] == "String" and parameter["insecure_value"] == "none"
    assert parameter["lifecycle"] == {"ignore_changes": ["insecure_value"]}


def test_clusters_of_the_same_kind_find_the_same_parameter():
    assert parameter_name(NodeConfig(role="rpc", name="x", chain="kusama", database="paritydb")) == (
        "/substrate/kusama/paritydb-pruned/snapshot-id")
    assert parameter_name(NodeConfig(role="archive", name="x")) == "/substrate/polkadot/rocksdb-archive/snapshot-id"


def test_the_producer_may_snapshot_only_its_volume_and_delete_only_its_own_snapshots(built):
    document, source = built
    found = statements(document)
    (volume,) = resources(document, "aws_ebs_volume")
    assert found["SnapshotTheDataVolume"]["Resource"] == [f"${{aws_ebs_volume.{volume}.arn}}"]
    tag = {"StringEquals": {f"aws:RequestTag/{TAG_SOURCE}": source.source_name}}
    assert found["CreateOnlyTaggedSnapshots"]["Condition"] == tag
    assert found["DeleteOwnSnapshots"]["Condition"] == {"StringEquals": {f"aws:ResourceTag/{TAG_SOURCE}": source.source_name}}
    assert found["TagSnapshotsAtCreation"]["Condition"] == {"StringEquals": {"ec2:CreateAction": "CreateSnapshot"}}
    assert found["PublishSnapshotId"]["Resource"][0].endswith(":parameter/substrate/polkadot/rocksdb-pruned/snapshot-id")
    star = [s for s in found.values() if s["Resource"] == ["*"]]
    assert all(a.split(":")[1].startswith("Describe") for s in star for a in s["Action"])
    assert "FastRestoreOwnSnapshots" not in found


def test_fast_restore_is_allowed_only_when_asked_and_only_on_own_snapshots():
    document, source = build(fast_restore_group="polkadot-rpc-eu-central-1")
    found = statements(document)
    assert found["FastRestoreOwnSnapshots"]["Condition"] == {
        "StringEquals": {f"aws:ResourceTag/{TAG_SOURCE}": source.source_name}}
    assert json.loads(source.source_node.bootstrap.file(CONFIG_FILE).content)["fast_restore_group"] == (
        "polkadot-rpc-eu-central-1")


def test_the_source_is_a_plain_instance_outside_every_group(built):
    document, source = built
    assert resources(document, "aws_autoscaling_group") == {}
    assert len(resources(document, "aws_instance")) == 1
    assert source.source_node.bootstrap.gzip_size() <= 16384


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_the_timer_and_service_are_valid_systemd_units(built, tmp_path):
    _, source = built
    bootstrap = source.source_node.bootstrap
    for unit in (SERVICE, TIMER):
        (tmp_path / unit).write_text(bootstrap.file(f"/etc/systemd/system/{unit}").content)
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / TIMER), str(tmp_path / SERVICE)],
                            capture_output=True, text=True, timeout=60)
    problems = [line for line in result.stderr.splitlines() if "snapshot" in line or "timer" in line.lower()]
    assert result.returncode == 0 and problems == [], result.stderr
    timer = bootstrap.file(f"/etc/systemd/system/{TIMER}").content
    assert "OnUnitInactiveSec=30min" in timer and "OnBootSec=15min" in timer  # runs never overlap
    config = json.loads(bootstrap.file(CONFIG_FILE).content)
    assert config["interval_seconds"] == 6 * 3600
    assert f"systemctl enable --now {TIMER}" in bootstrap.file("/usr/local/lib/substrate/extensions.sh").content


@pytest.mark.parametrize(("fields", "field"), [
    ({"node": {"role": "validator", "name": "v"}}, "node.role"),
    ({"node": {"role": "bootnode", "name": "b"}}, "node.role"),
    ({"node": {"role": "rpc", "name": "r"}, "parameter_name": "no-slash"}, "parameter_name"),
    ({"node": {"role": "rpc", "name": "r"}, "parameter_name": "/aws/reserved/name"}, "parameter_name"),
    ({"node": {"role": "rpc", "name": "r"}, "retain": 0}, "retain"),
    ({"node": {"role": "rpc", "name": "r"}, "interval_hours": 0}, "interval_hours"),
    ({"node": {"role": "rpc", "name": "r"}, "fast_restore_group": "bad name"}, "fast_restore_group"),
])
def test_bad_config_names_the_field(fields, field):
    with pytest.raises(ConfigError) as error:
        SnapshotSourceConfig(**fields)
    assert any(name.endswith(field) for name in error.value.fields), error.value
