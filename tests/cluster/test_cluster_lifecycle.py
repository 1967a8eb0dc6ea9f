"""The instance-side pieces of the cluster, run for real on this machine:

- ``lifecycle-ready.sh`` + ``lifecycle_action.py`` against a fake readiness probe, a
  fake IMDSv2 and a fake EC2 Auto Scaling endpoint that checks the SigV4 signature:
  the lifecycle action is completed only after ``/ready`` answered 200;
- ``restore-snapshot.sh`` with a stub ``aria2c`` (the download) on PATH;
- shellcheck, ``systemd-analyze verify`` and ``security`` on the rendered files;
- the SigV4 signer against AWS's published example.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cluster_stacks import CONFIGS
from fake_aws import INSTANCE, FakeAws

from constructs_substrate.bootstrap import render_bootstrap
from constructs_substrate.bootstrap import cluster_extension as ext
from constructs_substrate.bootstrap.templating import shell_assignments
from constructs_substrate.cluster import lifecycle_action

GROUP, HOOK = "api-123456-nodes", "wait-until-ready"


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is required in CI (scripts/setup.sh installs it)")
        pytest.skip(f"{tool} is not installed")
    return path


@pytest.fixture(scope="module")
def rendered():
    config = CONFIGS["archive"]  # has the lifecycle unit, heartbeats and the archive restore
    extension = ext.cluster_extension(config, group_name=GROUP, hook_name=HOOK)
    bootstrap = render_bootstrap(config.node, [extension])
    return {f.path: f for f in bootstrap.files}, extension


def write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


# ---- static checks -----------------------------------------------------------------------


@pytest.mark.parametrize("script", [ext.LIFECYCLE_SCRIPT, ext.RESTORE_SCRIPT])
def test_scripts_pass_shellcheck(rendered, script, tmp_path):
    shellcheck = require("shellcheck")
    files, _ = rendered
    path = write(tmp_path / Path(script).name, files[script].content, 0o755)
    result = subprocess.run([shellcheck, "--severity=style", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert files[script].content.startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in files[script].content
    assert files[script].mode == "0755"


def test_env_files_are_valid_bash_and_hold_the_rendered_values(rendered, tmp_path):
    files, _ = rendered
    for path in (ext.LIFECYCLE_ENV, ext.RESTORE_ENV):
        env = write(tmp_path / Path(path).name, files[path].content)
        subprocess.run(["bash", "-n", str(env)], check=True)
    lifecycle = files[ext.LIFECYCLE_ENV].content
    config = CONFIGS["archive"]
    for line in (f"GROUP_NAME={GROUP}", f"HOOK_NAME={HOOK}", "PROBE_URL=http://127.0.0.1:9955/ready",
                 f"TIMEOUT_SECONDS={config.lifecycle_timeout_seconds}", "HEARTBEAT_SECONDS=3600",
                 "IMDS_URL=http://169.254.169.254", "UPTIME_FILE=/proc/uptime"):
        assert line in lifecycle.splitlines()
    assert "TAR_FLAGS=(--zstd)" in files[ext.RESTORE_ENV].content


def test_lifecycle_unit_is_enabled_without_blocking_the_bootstrap(rendered):
    _, extension = rendered
    assert extension.commands == ("systemctl enable --now --no-block substrate-lifecycle.service",
                                  "systemctl enable --now --no-block substrate-liveness.service")
    assert set(extension.packages) == {"aria2", "zstd"}


def test_restore_runs_before_the_node_through_a_drop_in(rendered):
    files, _ = rendered
    drop_in = files[ext.NODE_DROP_IN].content
    assert "Requires=substrate-restore.service" in drop_in and "After=substrate-restore.service" in drop_in
    unit = files["/etc/systemd/system/substrate-restore.service"].content
    assert "Before=substrate-node.service" in unit and "ExecStartPre" not in unit
    assert "ConditionPathExists=!/data/.snapshot-restored" in unit and "User=substrate" in unit


UNITS = {
    ext.LIFECYCLE_SERVICE: (ext.LIFECYCLE_SCRIPT, 1.5),
    ext.RESTORE_SERVICE: (ext.RESTORE_SCRIPT, 1.5),
}


@pytest.mark.parametrize("unit", UNITS)
def test_units_pass_systemd_analyze(rendered, unit, tmp_path):
    analyze = require("systemd-analyze")
    files, _ = rendered
    script, max_exposure = UNITS[unit]
    # ExecStart must point at an executable that exists: use a copy under tmp_path.
    copy = write(tmp_path / "bin" / Path(script).name, files[script].content, 0o755)
    text = files[f"/etc/systemd/system/{unit}"].content.replace(script, str(copy))
    path = write(tmp_path / unit, text)
    verify = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True)
    assert verify.returncode == 0 and unit not in verify.stderr, verify.stderr
    security = subprocess.run([analyze, "security", "--offline=yes", str(path)], capture_output=True, text=True)
    exposure = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", security.stdout).group(1))
    assert exposure <= max_exposure, security.stdout


# ---- SigV4 -----------------------------------------------------------------------------------


def test_signer_matches_the_aws_documentation_example():
    # AWS General Reference, "Create a signed AWS API request": IAM ListUsers.
    headers = {
        "content-type": "application/x-www-form-urlencoded; charset=utf-8",
        "host": "iam.amazonaws.com",
        "x-amz-date": "20150830T123600Z",
    }
    authorization = lifecycle_action.sign(
        "GET", "Action=ListUsers&Version=2010-05-08", headers, b"", "us-east-1", "iam",
        "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", datetime.datetime(2015, 8, 30, 12, 36),
    )
    assert authorization == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    )


# ---- the lifecycle script against local fakes -----------------------------------------------


class FakeProbe:
    """``GET /ready``: 503 until ``ready_after`` seconds have passed, then 200."""

    def __init__(self, ready_after: float | None) -> None:
        self.start = time.monotonic()
        self.ready_after = ready_after
        self.first_ready: float | None = None
        self.not_ready_answers = 0
        probe = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                now = time.monotonic()
                ready = probe.ready_after is not None and now - probe.start >= probe.ready_after
                if ready and probe.first_ready is None:
                    probe.first_ready = now
                probe.not_ready_answers += not ready
                self.send_response(200 if ready else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ready"


@contextmanager
def serving(*fakes):
    threads = [threading.Thread(target=f.server.serve_forever, daemon=True) for f in fakes]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for fake in fakes:
            fake.server.shutdown()
            fake.server.server_close()


def run_lifecycle(rendered, tmp_path, aws: FakeAws, probe: FakeProbe, *, timeout: int, heartbeat: int = 0):
    files, _ = rendered
    script = write(tmp_path / "lifecycle-ready.sh", files[ext.LIFECYCLE_SCRIPT].content, 0o755)
    action = write(tmp_path / "lifecycle_action.py", files[ext.LIFECYCLE_ACTION].content, 0o755)
    uptime = write(tmp_path / "uptime", "1.50 0.00\n")
    env = ext.lifecycle_env(CONFIGS["archive"], group_name=GROUP, hook_name=HOOK)
    env.update(PROBE_URL=probe.url, TIMEOUT_SECONDS=timeout, HEARTBEAT_SECONDS=heartbeat, POLL_SECONDS=1,
               ACTION_SCRIPT=str(action), IMDS_URL=aws.url, ENDPOINT_URL=aws.url, UPTIME_FILE=str(uptime))
    env_file = write(tmp_path / "lifecycle.env", shell_assignments(env))
    environment = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return subprocess.run([str(script), str(env_file)], capture_output=True, text=True, timeout=90, env=environment)


def test_completes_the_lifecycle_action_only_after_the_probe_is_ready(rendered, tmp_path):
    aws, probe = FakeAws(), FakeProbe(ready_after=3.0)
    with serving(aws, probe):
        result = run_lifecycle(rendered, tmp_path, aws, probe, timeout=7200)
    assert result.returncode == 0, result.stderr
    assert probe.not_ready_answers >= 2 and probe.first_ready is not None
    assert aws.actions() == ["CompleteLifecycleAction"]
    (call,) = aws.calls
    assert call["time"] >= probe.first_ready
    assert call["signed"], "the request's SigV4 signature does not verify"
    assert call["params"] == {
        "Action": "CompleteLifecycleAction", "AutoScalingGroupName": GROUP, "LifecycleHookName": HOOK,
        "InstanceId": INSTANCE, "LifecycleActionResult": "CONTINUE", "Version": "2011-01-01",
    }
    assert "target state InService" in result.stderr


def test_sends_heartbeats_while_waiting_longer_than_a_heartbeat(rendered, tmp_path):
    aws, probe = FakeAws(), FakeProbe(ready_after=3.5)
    with serving(aws, probe):
        result = run_lifecycle(rendered, tmp_path, aws, probe, timeout=7200, heartbeat=1)
    assert result.returncode == 0, result.stderr
    assert aws.actions()[-1] == "CompleteLifecycleAction"
    assert aws.actions().count("RecordLifecycleActionHeartbeat") >= 1
    assert all(call["signed"] for call in aws.calls)


def test_abandons_and_never_continues_when_the_node_does_not_become_ready(rendered, tmp_path):
    aws, probe = FakeAws(), FakeProbe(ready_after=None)
    with serving(aws, probe):
        # 63 s budget - 1 s uptime - 60 s margin: gives up after about 2 s.
        result = run_lifecycle(rendered, tmp_path, aws, probe, timeout=63)
    assert result.returncode == 1
    assert probe.not_ready_answers >= 2
    assert [call["params"].get("LifecycleActionResult") for call in aws.calls] == ["ABANDON"]
    assert aws.calls[0]["signed"]
    assert "abandoning the launch" in result.stderr


def test_an_action_that_is_no_longer_pending_is_not_an_error(rendered, tmp_path):
    aws, probe = FakeAws(), FakeProbe(ready_after=0)
    aws.answer = (400, "<ErrorResponse><Error><Code>ValidationError</Code><Message>No active Lifecycle Action "
                       f"found with instance ID {INSTANCE}</Message></Error></ErrorResponse>")
    with serving(aws, probe):
        result = run_lifecycle(rendered, tmp_path, aws, probe, timeout=7200)
    assert result.returncode == 0, result.stderr
    assert aws.actions() == ["CompleteLifecycleAction"]
    assert "nothing to do" in result.stderr


# ---- the restore script with a stub downloader -------------------------------------------------

STUB_ARIA2C = """#!/bin/bash
# Test stand-in for aria2c: records its arguments, "downloads" a local file.
set -euo pipefail
printf '%s\\n' "$@" > "$STUB_LOG"
for arg in "$@"; do
  case $arg in --dir=*) dir=${arg#--dir=} ;; --out=*) out=${arg#--out=} ;; esac
done
cp "${!#}" "$dir/$out"
"""


def archive(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def run_restore(rendered, tmp_path, content: bytes, *, sha256: str | None = None, extract_to: str = "chains"):
    files, _ = rendered
    script = write(tmp_path / "restore-snapshot.sh", files[ext.RESTORE_SCRIPT].content, 0o755)
    stub = write(tmp_path / "bin" / "aria2c", STUB_ARIA2C, 0o755)
    source = tmp_path / "snapshot.tar.gz"
    source.write_bytes(content)
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    config = CONFIGS["archive"].snapshot.replace(
        archive_url="https://snapshots.example.com/db.tar.gz", extract_to=extract_to,
        archive_sha256=sha256 or hashlib.sha256(content).hexdigest(),
    )
    env = ext.restore_env(CONFIGS["archive"].replace(snapshot=config))
    env.update(DATA_DIR=str(data), ARCHIVE_URL=str(source), MARKER=str(data / ".snapshot-restored"))
    env_file = write(tmp_path / "restore.env", shell_assignments(env))
    environment = {**os.environ, "PATH": f"{stub.parent}:{os.environ['PATH']}", "STUB_LOG": str(tmp_path / "aria2c.args")}
    result = subprocess.run([str(script), str(env_file)], capture_output=True, text=True, timeout=60, env=environment)
    return result, data


DATABASE = {"polkadot/db/full/CURRENT": b"MANIFEST-000001\n", "polkadot/db/full/000001.sst": b"x" * 1000}


def test_restores_a_verified_archive_into_an_empty_database(rendered, tmp_path):
    content = archive(DATABASE)
    result, data = run_restore(rendered, tmp_path, content)
    assert result.returncode == 0, result.stderr
    assert (data / "chains/polkadot/db/full/CURRENT").read_bytes() == b"MANIFEST-000001\n"
    assert (data / ".snapshot-restored").exists() and not (data / ".restore").exists()
    arguments = (tmp_path / "aria2c.args").read_text().splitlines()
    assert "--continue=true" in arguments and "--split=16" in arguments
    assert f"--checksum=sha-256={hashlib.sha256(content).hexdigest()}" in arguments


def test_extracts_an_archive_of_bare_database_files_where_configured(rendered, tmp_path):
    bare = {"CURRENT": b"MANIFEST-000001\n"}
    result, data = run_restore(rendered, tmp_path, archive(bare), extract_to="chains/polkadot/db/full")
    assert result.returncode == 0, result.stderr
    assert (data / "chains/polkadot/db/full/CURRENT").exists()


def test_refuses_an_archive_with_the_wrong_checksum(rendered, tmp_path):
    result, data = run_restore(rendered, tmp_path, archive(DATABASE), sha256="0" * 64)
    assert result.returncode == 1
    assert "checksum mismatch" in result.stderr
    assert not (data / "chains").exists() and not (data / ".restore" / "archive").exists()
    assert not (data / ".snapshot-restored").exists()


def test_never_touches_an_existing_database(rendered, tmp_path):
    existing = tmp_path / "data" / "chains" / "polkadot" / "db"
    existing.mkdir(parents=True)
    (existing / "KEEP").write_text("mine")
    result, data = run_restore(rendered, tmp_path, archive(DATABASE))
    assert result.returncode == 0, result.stderr
    assert (existing / "KEEP").read_text() == "mine"
    assert not (data / "chains/polkadot/db/full").exists()
    assert not (tmp_path / "aria2c.args").exists()


@pytest.mark.parametrize("role", ["rpc", "archive"])
def test_user_data_fits_for_every_catalog_chain(role):
    from cluster_stacks import SHA, cluster_config

    from constructs_substrate.chains import CATALOG
    from constructs_substrate.config import NodeConfig

    for chain in CATALOG:
        config = cluster_config(
            node=NodeConfig(role=role, name=f"{chain}-{role}", chain=chain),
            snapshot={"archive_url": "https://snapshots.example.com/a-long-path/to/the/archive.tar.lz4", "archive_sha256": SHA},
            lifecycle_timeout_seconds=172800,
        )
        extension = ext.cluster_extension(config, group_name="g" * 60, hook_name=HOOK)
        render_bootstrap(config.node, [extension])  # raises ConfigError above 16 KiB
