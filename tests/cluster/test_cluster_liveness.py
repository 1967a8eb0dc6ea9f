"""The liveness watcher, run for real on this machine: ``liveness-watch.sh`` +
``lifecycle_action.py unhealthy`` against the REAL readiness probe (in-process) in
front of a fake JSON-RPC node, and the fake IMDSv2 + EC2 Auto Scaling endpoint of
``tests/fake_aws.py`` (which checks every SigV4 signature).

- a dead node (stops answering JSON-RPC): exactly one ``SetInstanceHealth``
  (``Unhealthy``, respecting the grace period), then the watcher stops asking;
- a healthy node, and a node whose chain is stalled (``/ready`` 503, ``/live`` 200):
  none;
- a node down for less than the window: none;
- plus shellcheck, ``systemd-analyze verify``/``security``, the env file, the IAM-free
  parts of the config (window validation) and the node unit's ``RestartSec`` that the
  window is sized against.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cluster_stacks import CONFIGS, cluster_config
from fake_aws import INSTANCE, FakeAws
from test_cluster_lifecycle import GROUP, HOOK, require, serving, write

from constructs_substrate import layout
from constructs_substrate.bootstrap import cluster_extension as ext
from constructs_substrate.bootstrap import liveness
from constructs_substrate.bootstrap.bundle import aws_client_source
from constructs_substrate.bootstrap.templating import shell_assignments, template
from constructs_substrate.cluster.config import NODE_RESTART_SECONDS, LivenessConfig
from constructs_substrate.errors import ConfigError
from constructs_substrate.probe import readiness_probe as rp


@pytest.fixture(scope="module")
def rendered():
    extension = ext.cluster_extension(CONFIGS["archive"], group_name=GROUP, hook_name=HOOK)
    return {f.path: f for f in extension.files}, extension


# ---- static checks -----------------------------------------------------------------------


def test_script_passes_shellcheck(rendered, tmp_path):
    shellcheck = require("shellcheck")
    files, _ = rendered
    shipped = files[liveness.LIVENESS_SCRIPT]
    path = write(tmp_path / "liveness-watch.sh", shipped.content, 0o755)
    result = subprocess.run([shellcheck, "--severity=style", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert shipped.content.startswith("#!/bin/bash\n") and "set -euo pipefail" in shipped.content
    assert shipped.mode == "0755"
    # The commented source stays in the library; the instance gets the code.
    assert "# Replacement, not routing" in liveness.LIVENESS_WATCH_SH
    assert "# Replacement, not routing" not in shipped.content and "# shellcheck source" in shipped.content


def test_unit_passes_systemd_analyze(rendered, tmp_path):
    analyze = require("systemd-analyze")
    files, _ = rendered
    copy = write(tmp_path / "bin" / "liveness-watch.sh", files[liveness.LIVENESS_SCRIPT].content, 0o755)
    unit = files[f"/etc/systemd/system/{liveness.LIVENESS_SERVICE}"].content
    path = write(tmp_path / liveness.LIVENESS_SERVICE, unit.replace(liveness.LIVENESS_SCRIPT, str(copy)))
    verify = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True)
    assert verify.returncode == 0 and liveness.LIVENESS_SERVICE not in verify.stderr, verify.stderr
    security = subprocess.run([analyze, "security", "--offline=yes", str(path)], capture_output=True, text=True)
    exposure = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", security.stdout).group(1))
    assert exposure <= 1.5, security.stdout


def test_unit_starts_after_the_launch_wait_and_is_enabled(rendered):
    files, extension = rendered
    unit = files[f"/etc/systemd/system/{liveness.LIVENESS_SERVICE}"].content
    # Never judges a booting, restoring or syncing node: starts once the lifecycle
    # oneshot has finished (the instance is in service, or its launch deadline passed).
    assert f"After=network-online.target {ext.LIFECYCLE_SERVICE} {layout.PROBE_SERVICE}\n" in unit
    assert "RuntimeDirectory=substrate-liveness\n" in unit and "DynamicUser=true\n" in unit
    assert "systemctl enable --now --no-block substrate-liveness.service" in extension.commands


def test_env_file_holds_the_rendered_values(rendered, tmp_path):
    files, _ = rendered
    env = write(tmp_path / "liveness.env", files[liveness.LIVENESS_ENV].content)
    subprocess.run(["bash", "-n", str(env)], check=True)
    lines = files[liveness.LIVENESS_ENV].content.splitlines()
    for line in (f"GROUP_NAME={GROUP}", "PROBE_LIVE_URL=http://127.0.0.1:9955/live", "WINDOW_SECONDS=300",
                 "POLL_SECONDS=10", f"ACTION_SCRIPT={ext.LIFECYCLE_ACTION}", "IMDS_URL=http://169.254.169.254",
                 "ENDPOINT_URL=''", "REPORTED_FILE=/run/substrate-liveness/reported"):
        assert line in lines, line


def test_window_is_sized_against_the_node_units_restart():
    # The node unit restarts a crashed node after RestartSec: the window must exceed it.
    assert f"\nRestartSec={NODE_RESTART_SECONDS}\n" in template("substrate-node.service")
    assert LivenessConfig().window_seconds == 300
    with pytest.raises(ConfigError, match="window_seconds") as error:
        cluster_config(liveness={"window_seconds": 150})
    assert "RestartSec (120 s)" in str(error.value)
    with pytest.raises(ConfigError, match="poll_seconds"):
        LivenessConfig(window_seconds=200, poll_seconds=100)
    assert cluster_config(liveness={"window_seconds": 181, "poll_seconds": 60}).liveness.window_seconds == 181


# ---- the watcher against the real probe and fake AWS ----------------------------------------


class FakeNode:
    """Just enough JSON-RPC for the probe: ``mode`` is ``healthy`` (head advances),
    ``stalled`` (answers, head frozen: a chain-wide stall) or ``dead`` (no answer:
    the connection is closed at once)."""

    def __init__(self) -> None:
        self.mode, self.best = "healthy", 100
        node = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if node.mode == "dead":
                    self.close_connection = True
                    return
                self._send(json.dumps({"jsonrpc": "2.0", "id": request["id"], **node.answer(request)}).encode())

            def do_GET(self) -> None:
                self._send(b"") if node.mode != "dead" else None

            def _send(self, data: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, request: dict) -> dict:
        method, params = request["method"], request["params"]
        if method == "system_health":
            return {"result": {"peers": 5, "isSyncing": False, "shouldHavePeers": True}}
        if method == "chain_getFinalizedHead":
            return {"result": "0x" + "cd" * 32}
        if method == "chain_getHeader":
            if not params and self.mode == "healthy":
                self.best += 1
            return {"result": {"number": hex(self.best if not params else self.best - 1)}}
        return {"error": {"code": -32601, "message": "Method not found"}}


@contextmanager
def real_probe(node: FakeNode):
    settings = rp.Settings(interval=0.2, rpc_timeout=0.15, stall_seconds=1.0, live_seconds=1.0)
    probe = rp.Probe(node.url, settings)
    server = rp.make_server(probe, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    probe.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        if node.mode != "dead":  # as on an instance: the watcher starts after the node answered
            wait_for(lambda: _status(url + "/live") == 200, 10, "the probe saw the node answer")
        yield url
    finally:
        probe.stop(timeout=2)
        server.shutdown()
        server.server_close()


def start_watcher(rendered, tmp_path: Path, aws: FakeAws, probe_url: str, *, window: int) -> subprocess.Popen:
    files, _ = rendered
    script = write(tmp_path / "liveness-watch.sh", files[liveness.LIVENESS_SCRIPT].content, 0o755)
    action = write(tmp_path / "lifecycle_action.py", aws_client_source(), 0o755)  # the boot stage ships it
    env = liveness.liveness_env(CONFIGS["archive"], group_name=GROUP, action_script=str(action), imds_url=aws.url)
    env.update(PROBE_LIVE_URL=probe_url + "/live", WINDOW_SECONDS=window, POLL_SECONDS=1, ENDPOINT_URL=aws.url,
               REPORTED_FILE=str(tmp_path / "reported"))
    env_file = write(tmp_path / "liveness.env", shell_assignments(env))
    environment = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return subprocess.Popen([str(script), str(env_file)], stderr=subprocess.PIPE, text=True, env=environment)


def wait_for(predicate, timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.1)
    pytest.fail(f"{what} within {timeout} s")


def stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.terminate()
    _, err = proc.communicate(timeout=10)
    return err


def test_a_dead_node_is_reported_unhealthy_exactly_once(rendered, tmp_path):
    aws, node = FakeAws(), FakeNode()
    aws.answer = (200, "<SetInstanceHealthResponse/>")
    with serving(aws, node), real_probe(node) as probe_url:
        proc = start_watcher(rendered, tmp_path, aws, probe_url, window=3)
        try:
            time.sleep(2)
            assert aws.calls == [] and proc.poll() is None  # live: nothing to report
            node.mode = "dead"
            died = time.monotonic()
            assert proc.wait(timeout=30) == 0  # reported, then stopped asking
            elapsed = time.monotonic() - died
        finally:
            err = stop(proc)
        (call,) = aws.calls
        assert call["signed"], "the request's SigV4 signature does not verify"
        assert call["params"] == {"Action": "SetInstanceHealth", "InstanceId": INSTANCE, "HealthStatus": "Unhealthy",
                                  "ShouldRespectGracePeriod": "true", "Version": "2011-01-01"}
        # /live fails live_seconds (1 s) after the last answer; the window (3 s) then runs.
        assert call["time"] - died >= 3.0 and elapsed < 20, (call["time"] - died, elapsed)
        assert "reporting this instance unhealthy" in err and "reported; the group replaces this instance" in err
        assert (tmp_path / "reported").exists()
        # A restarted watcher (same boot) does not ask again, even while the node is still dead.
        again = start_watcher(rendered, tmp_path, aws, probe_url, window=1)
        assert again.wait(timeout=10) == 0 and "already reported" in stop(again)
    assert len(aws.calls) == 1
    print(f"\ndead node: SetInstanceHealth {call['time'] - died:.1f} s after the node died (live 1 s + window 3 s)")


@pytest.mark.parametrize("mode", ["healthy", "stalled"])
def test_a_live_node_is_never_reported_even_when_its_chain_is_stalled(rendered, tmp_path, mode):
    aws, node = FakeAws(), FakeNode()
    node.mode = mode
    with serving(aws, node), real_probe(node) as probe_url:
        proc = start_watcher(rendered, tmp_path, aws, probe_url, window=2)
        try:
            if mode == "stalled":  # routing says no, replacement says live
                wait_for(lambda: _status(probe_url + "/ready") == 503, 10, "the stalled node left rotation")
            time.sleep(5)  # 2.5 windows
            assert proc.poll() is None and _status(probe_url + "/live") == 200
        finally:
            err = stop(proc)
    assert aws.calls == [], err
    assert "/live failed" not in err


def test_a_node_down_for_less_than_the_window_is_not_reported(rendered, tmp_path):
    aws, node = FakeAws(), FakeNode()
    with serving(aws, node), real_probe(node) as probe_url:
        proc = start_watcher(rendered, tmp_path, aws, probe_url, window=8)
        try:
            wait_for(lambda: _status(probe_url + "/live") == 200, 10, "live")
            node.mode = "dead"  # e.g. systemd restarting the node
            wait_for(lambda: _status(probe_url + "/live") == 503, 10, "not live")
            time.sleep(2)
            node.mode = "healthy"
            wait_for(lambda: _status(probe_url + "/live") == 200, 10, "live again")
            time.sleep(8)  # a full window after recovery: the failure clock was reset
            assert proc.poll() is None
        finally:
            err = stop(proc)
    assert aws.calls == [], err
    assert "live again after" in err


def test_a_failed_report_is_retried_until_it_is_recorded(rendered, tmp_path):
    aws, node = FakeAws(), FakeNode()
    aws.answer = (503, "<ErrorResponse><Error><Code>ServiceUnavailable</Code></Error></ErrorResponse>")
    node.mode = "dead"
    with serving(aws, node), real_probe(node) as probe_url:
        proc = start_watcher(rendered, tmp_path, aws, probe_url, window=1)
        try:
            wait_for(lambda: len(aws.calls) >= 1, 20, "a first SetInstanceHealth")
            aws.answer = (200, "<SetInstanceHealthResponse/>")
            assert proc.wait(timeout=20) == 0
        finally:
            err = stop(proc)
    assert 2 <= len(aws.calls) and aws.actions() == ["SetInstanceHealth"] * len(aws.calls)
    assert "SetInstanceHealth failed; trying again" in err


def _status(url: str) -> int:
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0
