"""Apply for real against the emulator (moto on 127.0.0.1, :mod:`moto_region`, with the
shims of :mod:`moto_shims`): the polkadot app in dependency order (regional stacks, then
the global stack that reads their state), one SubstrateNode stack per role and one
AutoscalingApiCluster stack. After apply, ``terraform plan -detailed-exitcode`` must
say no changes for every stack (a perpetual diff is a defect), then everything is
destroyed (after the explicit unprotect step for retained volumes).

Slow (minutes), so it runs on the cdktn pass of ``scripts/test.sh`` only."""

from __future__ import annotations

import shutil
import time

import pytest
from conftest import backend
from integration.conftest import unavailable
from deploy import cycle, deploy_with_cli, manifest_dependencies, prepare, waves
from cluster.cluster_stacks import MONITORING_SG
from moto_region import reset, seed_parameter, seed_security_group, seed_snapshot, seed_ubuntu_ami, seed_zone, start
from tf_report import REPORT
from tf_stacks import ZONE_ID, ZONE_NAME, synthesize_app

REGIONS = ("us-east-1", "eu-central-1", "ap-southeast-1")
USER_APPLY = ("node-validator", "node-rpc", "node-archive", "node-bootnode", "node-telemetry", "node-snapshot-source",
              "cluster-default", "cluster-shared")
"""One SubstrateNode per role and a SnapshotSource (its node, parameter and producer policy); the
richest AutoscalingApiCluster (WAF, extra name, snapshot) and
two clusters (one with Spot) sharing one ALB."""
SNAPSHOT_PARAMETER = "/substrate/polkadot/data-snapshot"


def seed(emulator) -> None:
    """What the account already has: the zone, Canonical's AMI parameter, the chain
    snapshot and its SSM parameter the cluster stack reads, the monitoring server's
    security group it opens metrics to."""
    seed_zone(emulator, ZONE_NAME, ZONE_ID)
    seed_ubuntu_ami(emulator, REGIONS)
    seed_parameter(emulator, "eu-central-1", SNAPSHOT_PARAMETER, seed_snapshot(emulator, "eu-central-1"))
    seed_security_group(emulator, "eu-central-1", MONITORING_SG)


@pytest.fixture(scope="module")
def emulator(apply_backend, terraform):
    instance = start()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def fresh(emulator):
    reset(emulator)
    seed(emulator)
    return emulator


def _cycle(terraform, runs, label: str, after_apply=None, apply=None) -> dict[str, list[str]]:
    start_time = time.monotonic()
    try:
        cycle(terraform, runs, backend(), after_apply, apply)
    finally:
        REPORT.phase(f"apply+re-plan+destroy {label} ({backend()})", time.monotonic() - start_time)
    return {name: run.problems() for name, run in runs.items()}


STATE_BUCKET = "substrate-tfstate-e2e"


def _s3(emulator):
    import boto3

    return boto3.client("s3", endpoint_url=emulator.url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def test_polkadot_app_with_s3_state_applies_replans_clean_and_destroys(terraform, fresh, tmp_path):
    """The documented remote state end to end: one bucket (created first, as the
    operator does), ``SUBSTRATE_STATE_BUCKET`` set when synthesizing, every stack's state
    under its own key, encrypted, locked with a lock file; the global stack reads the
    regional states from it; the re-plan (which reads the state back) shows 0 changes."""
    s3 = _s3(fresh)
    s3.create_bucket(Bucket=STATE_BUCKET)
    s3.put_bucket_versioning(Bucket=STATE_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    run = synthesize_app("polkadot", "default", tmp_path / "synth", extra={"SUBSTRATE_STATE_BUCKET": STATE_BUCKET})
    runs = prepare(terraform, tmp_path / "scratch", run.stacks, fresh.url, manifest_dependencies(run.outdir))
    assert waves(runs)[-1] == ["polkadot-global"], "the global stack goes last: it reads the regional states"

    def state_in_bucket():
        objects = [o["Key"] for o in s3.list_objects_v2(Bucket=STATE_BUCKET).get("Contents", [])]
        assert sorted(objects) == sorted(f"{name}.tfstate" for name in run.stacks), "one key per stack, no lock left"
        for key in objects:
            assert s3.head_object(Bucket=STATE_BUCKET, Key=key).get("ServerSideEncryption"), f"{key} is not encrypted"
        assert not list(tmp_path.glob("**/terraform.*.tfstate")), "no local state beside the S3 state"

    if shutil.which("npx") is None:
        unavailable("npx (Node.js) is not on PATH: the deploy CLI README documents cannot run")
    with_cli = lambda: deploy_with_cli(terraform, tmp_path / "scratch", runs, run.outdir / "manifest.json", backend())  # noqa: E731
    problems = _cycle(terraform, runs, "polkadot, S3 state", state_in_bucket, with_cli)
    problems = {name: p for name, p in problems.items() if p}
    assert not problems, "\n\n".join(f"{name}:\n" + "\n".join(p) for name, p in problems.items())


NODE_APPLY = tuple(name for name in USER_APPLY if name.startswith("node-"))
CLUSTER_APPLY = tuple(name for name in USER_APPLY if name.startswith("cluster-"))


@pytest.fixture(scope="module")
def node_results(terraform, synthesized, emulator, tmp_path_factory) -> dict[str, list[str]]:
    """The SubstrateNode stacks in one cycle (:data:`deploy.WORKERS` at a time): stack -> problems."""
    reset(emulator)
    seed(emulator)
    stacks = {name: synthesized["user"][name] for name in NODE_APPLY}
    runs = prepare(terraform, tmp_path_factory.mktemp("node-apply"), stacks, emulator.url, {})
    return _cycle(terraform, runs, "node stacks")


@pytest.fixture(scope="module")
def cluster_results(apply_backend, terraform, synthesized, tmp_path_factory) -> dict[str, list[str]]:
    """The cluster stacks, each in an emulator process of its own. OPEN: in one shared
    emulator (after other stacks, even after a reset) their runs hang (a Route53 record
    "Still creating" for 8+ min); alone in a new emulator each applies in ~2 min,
    re-plans with 0 changes and destroys. Real AWS has no such shared state."""
    results = {}
    for name in CLUSTER_APPLY:
        emulator = start()
        try:
            reset(emulator)  # in-process moto keeps its backends between servers
            seed(emulator)
            runs = prepare(terraform, tmp_path_factory.mktemp(f"{name}-apply"), {name: synthesized["user"][name]},
                           emulator.url, {})
            results.update(_cycle(terraform, runs, name))
        finally:
            emulator.stop()
    return results


@pytest.fixture
def user_results(request, stack) -> dict[str, list[str]]:
    return request.getfixturevalue("cluster_results" if stack in CLUSTER_APPLY else "node_results")


@pytest.mark.parametrize("stack", USER_APPLY)
def test_user_stack_applies_replans_clean_and_destroys(user_results, stack):
    assert not user_results[stack], "\n".join(user_results[stack])
