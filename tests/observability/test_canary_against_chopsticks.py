"""The canary's check against a real Substrate JSON-RPC server over WebSocket
(Chopsticks): it passes while blocks are produced and fails when the head goes stale
or the server hangs (SIGSTOP). The packaged zip runs the same way."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from constructs_substrate.observability.canary.check import CheckSettings, check_endpoint
from constructs_substrate.observability.canary.handler import handler
from constructs_substrate.observability.canary.package import build_zip

pytestmark = pytest.mark.integration

FAST = CheckSettings(new_head_seconds=8, timeout=5, max_finality_lag=5)


class BlockProducer:
    """Builds a block about every second while running (a chain that is alive)."""

    def __init__(self, chopsticks) -> None:
        self.chopsticks = chopsticks
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.chopsticks.new_block(timeout=5)
            except (OSError, RuntimeError):
                pass
            self._stop.wait(1.0)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)


def test_passes_while_blocks_are_produced(chopsticks):
    with BlockProducer(chopsticks):
        result = check_endpoint(chopsticks.ws_url, FAST)
    assert result.ok, result.summary()
    assert result.steps == ["handshake", "system_health", "chain_getHeader", "finality", "chain_subscribeNewHeads"]
    assert result.new_head > result.best >= result.finalized >= 0
    assert result.peers == 0  # Chopsticks reports no peers and shouldHavePeers=false


def test_fails_when_the_head_is_stale(chopsticks):
    chopsticks.new_block()
    best = chopsticks.best_number()
    started = time.monotonic()
    result = check_endpoint(chopsticks.ws_url, CheckSettings(new_head_seconds=3, timeout=5))
    assert not result.ok
    assert f"no new block within 3s: the head is stuck at #{best}" in result.error
    assert 3 <= time.monotonic() - started < 10


def test_fails_when_the_server_hangs(chopsticks):
    with chopsticks.paused():
        started = time.monotonic()
        result = check_endpoint(chopsticks.ws_url, CheckSettings(new_head_seconds=3, timeout=2))
        elapsed = time.monotonic() - started
    assert not result.ok and "WebSocketTimeout" in result.error
    assert elapsed < 5, "a hung backend must fail within the timeout, not hang the canary"


def test_fails_when_a_call_hangs_mid_check(chopsticks):
    """Frozen after the handshake: the next call times out."""
    from constructs_substrate.observability.canary.check import RpcConnection, run_checks, CheckResult
    from constructs_substrate.observability.canary.websocket import WebSocket, WebSocketTimeout

    with WebSocket.connect(chopsticks.ws_url, timeout=5) as socket_:
        rpc = RpcConnection(socket_)
        rpc.call("system_health", timeout=5)
        with chopsticks.paused():
            with pytest.raises(WebSocketTimeout):
                run_checks(rpc, CheckSettings(timeout=1, new_head_seconds=3), CheckResult(chopsticks.ws_url))


def test_handler_reads_its_environment_and_fails_the_run(chopsticks, monkeypatch):
    monkeypatch.setenv("SUBSTRATE_ENDPOINTS", chopsticks.ws_url)
    monkeypatch.setenv("NEW_HEAD_SECONDS", "8")
    monkeypatch.setenv("TIMEOUT_SECONDS", "5")
    with BlockProducer(chopsticks):
        assert handler({}, None) == "1 endpoint(s) healthy"
    monkeypatch.setenv("NEW_HEAD_SECONDS", "2")
    with pytest.raises(Exception, match="no new block within 2s"):
        handler({}, None)


def test_packaged_zip_runs_the_check(chopsticks, tmp_path):
    """The zip as Synthetics gets it: ``python/`` on the path, ``canary_handler.handler``."""
    archive = tmp_path / "canary.zip"
    archive.write_bytes(build_zip())
    code = (
        "import sys; sys.path.insert(0, sys.argv[1] + '/python'); "
        "import canary_handler; print(canary_handler.handler({}, None))"
    )
    env = {**os.environ, "SUBSTRATE_ENDPOINTS": chopsticks.ws_url, "NEW_HEAD_SECONDS": "8", "TIMEOUT_SECONDS": "5"}
    env.pop("PYTHONPATH", None)
    with BlockProducer(chopsticks):
        result = subprocess.run([sys.executable, "-I", "-c", code, str(archive)], capture_output=True, text=True,
                                env=env, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 endpoint(s) healthy" in result.stdout and f"{chopsticks.ws_url}: ok" in result.stdout
