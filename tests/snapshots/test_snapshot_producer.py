"""The snapshot producer run for real on loopback: the shipped script
against moto's EC2 and SSM, IMDSv2 from ``FakeAws``, a fake node RPC and a fake
``systemctl`` (``producer_support.py``). What it must do: stop the node before the
snapshot is initiated and start it right after, also when the snapshot fails; publish
only a completed snapshot that is newer than the published one; delete only this
source's own old snapshots."""

from __future__ import annotations

import datetime
import threading
import time

import boto3
import pytest
from fake_aws import FakeAws
from producer_support import GENESIS, REGION, SOURCE, FakeNode, Host, ec2_backend, reset_moto, source_config, start_moto

from constructs_substrate.snapshots.producer import (
    TAG_BEST_BLOCK,
    TAG_BEST_HASH,
    TAG_CHAIN,
    TAG_DATABASE,
    TAG_GENESIS,
    TAG_PRUNING,
    TAG_SOURCE,
)

PARAMETER = source_config().effective_parameter_name
IMAGE = "ami-03cf127a"
"""One of moto's own AMIs (listing them all takes seconds)."""


@pytest.fixture(scope="module")
def moto_url():
    server, url = start_moto()
    yield url
    server.stop()


@pytest.fixture
def world(moto_url, tmp_path):
    reset_moto(moto_url)
    clients = {name: boto3.client(name, endpoint_url=moto_url, region_name=REGION, aws_access_key_id="x",
                                  aws_secret_access_key="x") for name in ("ec2", "ssm")}
    ec2 = clients["ec2"]
    instance = ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1,
                                 Placement={"AvailabilityZone": f"{REGION}a"})["Instances"][0]["InstanceId"]
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=20, Encrypted=True)["VolumeId"]
    ec2.attach_volume(VolumeId=volume, InstanceId=instance, Device="/dev/sdf")
    other = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=20)["VolumeId"]  # never snapshotted
    ec2.attach_volume(VolumeId=other, InstanceId=instance, Device="/dev/sdg")
    clients["ssm"].put_parameter(Name=PARAMETER, Value="none", Type="String")
    node = FakeNode()
    with FakeAws(instance=instance) as imds:
        host = Host(tmp_path, imds.url, moto_url, node.url, source_config(retain=2))
        yield type("World", (), {"ec2": ec2, "ssm": clients["ssm"], "node": node, "host": host,
                                 "volume": volume, "other_volume": other})
    node.close()


def parameter(world) -> str:
    return world.ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"]


def own_snapshots(world) -> dict[str, dict]:
    # (moto's own AMIs come with snapshots of their own: only ours, of the data volume)
    found = world.ec2.describe_snapshots(OwnerIds=["self"], Filters=[
        {"Name": "volume-id", "Values": [world.volume, world.other_volume]}])["Snapshots"]
    return {s["SnapshotId"]: {t["Key"]: t["Value"] for t in s.get("Tags", [])} for s in found}


def seed_snapshot(world, tags: dict[str, str], state: str = "completed") -> str:
    specifications = [{"ResourceType": "snapshot", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    snapshot = world.ec2.create_snapshot(VolumeId=world.volume, **(
        {"TagSpecifications": specifications} if tags else {}))["SnapshotId"]
    ec2_backend().snapshots[snapshot].status = state
    return snapshot


def watch_create_snapshot(world, monkeypatch, *, fail: bool = False, state: str = "completed") -> list:
    """Record what systemctl had been asked when CreateSnapshot arrived; optionally fail
    it, or leave the new snapshot in ``state``."""
    backend = ec2_backend()
    original = backend.create_snapshot
    seen: list = []

    def create_snapshot(volume_id, description, *args, **kwargs):
        seen.append((volume_id, world.host.systemctl_calls()))
        if fail:
            from moto.ec2.exceptions import InvalidVolumeIdError

            raise InvalidVolumeIdError(volume_id)
        snapshot = original(volume_id, description, *args, **kwargs)
        snapshot.status = state
        seen.append(snapshot)
        return snapshot

    monkeypatch.setattr(backend, "create_snapshot", create_snapshot)
    return seen


def created(seen: list, timeout: float = 60) -> None:
    """Wait until the producer's CreateSnapshot has arrived (the machine may be slow)."""
    deadline = time.monotonic() + timeout
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)


def test_stops_the_node_only_around_the_initiation_and_publishes(world, monkeypatch):
    seen = watch_create_snapshot(world, monkeypatch)
    result = world.host.run()
    assert result.returncode == 0, result.stderr
    volume, calls_at_create = seen[0]
    assert volume == world.volume  # the data volume, found by its attachment at /dev/sdf
    assert calls_at_create == ["stop", "show"]  # stopped (and cleanly) before the snapshot was initiated
    assert world.host.systemctl_calls() == ["stop", "show", "start"]
    snapshot = seen[1].id
    assert parameter(world) == snapshot
    assert own_snapshots(world)[snapshot] == {
        "Name": f"{SOURCE}-1000", TAG_SOURCE: SOURCE, TAG_CHAIN: "polkadot", TAG_GENESIS: GENESIS,
        TAG_DATABASE: "rocksdb", TAG_PRUNING: "1000", TAG_BEST_BLOCK: "1000", TAG_BEST_HASH: "0x" + f"{1000:064x}",
    }


def test_a_failed_snapshot_still_restarts_the_node(world, monkeypatch):
    watch_create_snapshot(world, monkeypatch, fail=True)
    result = world.host.run()
    assert result.returncode == 1
    assert "InvalidVolume.NotFound" in result.stderr
    assert world.host.systemctl_calls() == ["stop", "show", "start"]
    assert parameter(world) == "none"


def test_a_node_killed_at_the_stop_timeout_is_not_snapshotted(world, monkeypatch):
    seen = watch_create_snapshot(world, monkeypatch)
    (world.host.root / "result").write_text("timeout\n")
    result = world.host.run()
    assert result.returncode == 1
    assert "not 'success'" in result.stderr
    assert seen == [] and world.host.systemctl_calls() == ["stop", "show", "start"]


def test_a_failed_stop_is_not_snapshotted_and_the_node_is_started(world, monkeypatch):
    seen = watch_create_snapshot(world, monkeypatch)
    (world.host.root / "stop_status").write_text("1\n")
    assert world.host.run().returncode == 1
    assert seen == [] and world.host.systemctl_calls() == ["stop", "start"]


def test_a_syncing_node_is_left_alone(world, monkeypatch):
    seen = watch_create_snapshot(world, monkeypatch)
    world.node.syncing = True
    result = world.host.run()
    assert result.returncode == 0 and "not synced" in result.stderr
    assert seen == [] and world.host.systemctl_calls() == []


def test_an_incomplete_snapshot_does_not_move_the_parameter(world, monkeypatch):
    seen = watch_create_snapshot(world, monkeypatch, state="pending")
    result = world.host.run(complete_timeout_seconds=1)
    assert result.returncode == 1 and "is pending; not published" in result.stderr
    assert world.host.systemctl_calls() == ["stop", "show", "start"]  # started at initiation, not at completion
    assert parameter(world) == "none"
    assert seen[1].id in own_snapshots(world)  # kept: it may still complete (retention counts it then)


def test_a_failed_snapshot_state_is_deleted_not_published(world, monkeypatch):
    seen = watch_create_snapshot(world, monkeypatch, state="error")
    assert world.host.run().returncode == 1
    assert parameter(world) == "none" and seen[1].id not in own_snapshots(world)


def test_a_snapshot_completing_later_is_published(world, monkeypatch):
    seen = watch_create_snapshot(world, monkeypatch, state="pending")

    def complete():
        created(seen)
        time.sleep(1.0)  # a few polls of "pending" first
        seen[1].status = "completed"

    threading.Thread(target=complete, daemon=True).start()
    result = world.host.run(complete_timeout_seconds=30)
    assert result.returncode == 0, result.stderr
    assert parameter(world) == seen[1].id


def test_an_older_node_than_the_published_snapshot_is_not_stopped(world, monkeypatch):
    newer = seed_snapshot(world, {TAG_SOURCE: SOURCE, TAG_BEST_BLOCK: "2000"})
    world.ssm.put_parameter(Name=PARAMETER, Value=newer, Type="String", Overwrite=True)
    seen = watch_create_snapshot(world, monkeypatch)
    result = world.host.run()
    assert result.returncode == 0 and "nothing to do" in result.stderr
    assert seen == [] and world.host.systemctl_calls() == [] and parameter(world) == newer


def test_a_snapshot_younger_than_the_interval_is_not_replaced(world, monkeypatch):
    recent = seed_snapshot(world, {TAG_SOURCE: SOURCE, TAG_BEST_BLOCK: "10"})
    world.ssm.put_parameter(Name=PARAMETER, Value=recent, Type="String", Overwrite=True)
    seen = watch_create_snapshot(world, monkeypatch)
    result = world.host.run(interval_seconds=3600)
    assert result.returncode == 0 and "0 min old (interval 60 min); nothing to do" in result.stderr
    assert seen == [] and world.host.systemctl_calls() == []
    ec2_backend().snapshots[recent].start_time -= datetime.timedelta(hours=2)
    assert world.host.run(interval_seconds=3600).returncode == 0
    assert parameter(world) == seen[1].id


def test_a_newer_snapshot_published_meanwhile_is_kept(world, monkeypatch):
    seen = watch_create_snapshot(world, monkeypatch, state="pending")
    newer: list[str] = []

    def publish_newer():
        created(seen)
        ours = seen[1]
        newer.append(seed_snapshot(world, {TAG_SOURCE: "another-source", TAG_BEST_BLOCK: "5000"}))
        world.ssm.put_parameter(Name=PARAMETER, Value=newer[0], Type="String", Overwrite=True)
        ours.status = "completed"

    threading.Thread(target=publish_newer, daemon=True).start()
    result = world.host.run(complete_timeout_seconds=30)
    assert result.returncode == 0, result.stderr
    assert "parameter kept" in result.stderr
    assert parameter(world) == newer[0]


def test_retention_deletes_only_this_sources_old_snapshots(world, monkeypatch):
    old = [seed_snapshot(world, {TAG_SOURCE: SOURCE, TAG_BEST_BLOCK: str(n)}) for n in (100, 200, 300)]
    failed = seed_snapshot(world, {TAG_SOURCE: SOURCE, TAG_BEST_BLOCK: "900"}, state="error")
    foreign = seed_snapshot(world, {TAG_SOURCE: "another-source", TAG_BEST_BLOCK: "50"})
    untagged = seed_snapshot(world, {})
    world.ssm.put_parameter(Name=PARAMETER, Value=old[0], Type="String", Overwrite=True)
    seen = watch_create_snapshot(world, monkeypatch)
    result = world.host.run()  # retain=2
    assert result.returncode == 0, result.stderr
    remaining = set(own_snapshots(world))
    assert remaining == {seen[1].id, old[2], foreign, untagged}
    assert failed not in remaining and parameter(world) == seen[1].id


def test_the_published_snapshot_is_never_deleted(world, monkeypatch):
    published = seed_snapshot(world, {TAG_SOURCE: SOURCE, TAG_BEST_BLOCK: "100"})
    world.ssm.put_parameter(Name=PARAMETER, Value=published, Type="String", Overwrite=True)
    newer = [seed_snapshot(world, {TAG_SOURCE: SOURCE, TAG_BEST_BLOCK: str(n)}) for n in (1500, 1600)]
    seen = watch_create_snapshot(world, monkeypatch)
    # The node (1000) is newer than the published snapshot (100): its snapshot is
    # published, though two unpublished ones of this source are newer still (retain=2).
    assert world.host.run().returncode == 0
    assert parameter(world) == seen[1].id
    assert set(own_snapshots(world)) == {seen[1].id, *newer}


def test_fast_restore_moves_to_the_published_snapshot_in_the_groups_zones(world, monkeypatch, moto_url):
    """moto has no Fast Snapshot Restore: its two actions are answered (and recorded) here;
    the group and its zones are moto's own."""
    from moto.ec2.responses import EC2Response

    calls: list[dict] = []

    def recorder(self):
        calls.append({"action": self._get_action(), **{k: v[0] for k, v in self.querystring.items() if k != "Action"}})
        return "<Response><successful/><unsuccessful/></Response>"

    for action in ("enable_fast_snapshot_restores", "disable_fast_snapshot_restores"):
        monkeypatch.setattr(EC2Response, action, recorder, raising=False)
    autoscaling = boto3.client("autoscaling", endpoint_url=moto_url, region_name=REGION,
                               aws_access_key_id="x", aws_secret_access_key="x")
    template = world.ec2.create_launch_template(LaunchTemplateName="rpc", LaunchTemplateData={"ImageId": IMAGE})
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="polkadot-rpc", MinSize=0, MaxSize=1,
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplate"]["LaunchTemplateId"]},
        AvailabilityZones=[f"{REGION}b", f"{REGION}a"])
    previous = seed_snapshot(world, {TAG_SOURCE: SOURCE, TAG_BEST_BLOCK: "500"})
    world.ssm.put_parameter(Name=PARAMETER, Value=previous, Type="String", Overwrite=True)
    seen = watch_create_snapshot(world, monkeypatch)
    result = world.host.run(fast_restore_group="polkadot-rpc")
    assert result.returncode == 0, result.stderr
    zones = {"AvailabilityZone.1": f"{REGION}a", "AvailabilityZone.2": f"{REGION}b"}
    assert [c for c in calls if c["action"] in ("EnableFastSnapshotRestores", "DisableFastSnapshotRestores")] == [
        {"action": "EnableFastSnapshotRestores", "SourceSnapshotId.1": seen[1].id, "Version": "2016-11-15", **zones},
        {"action": "DisableFastSnapshotRestores", "SourceSnapshotId.1": previous, "Version": "2016-11-15", **zones},
    ]
