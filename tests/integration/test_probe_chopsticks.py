"""The readiness probe against a real Substrate JSON-RPC server (Chopsticks)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from constructs_substrate.probe import readiness_probe as rp

pytestmark = pytest.mark.integration

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class BlockProducer:
    """Calls dev_newBlock about once a second while enabled; failures (a frozen node) are
    expected and ignored, the next attempt simply tries again."""

    def __init__(self, chopsticks) -> None:
        self.chopsticks = chopsticks
        self.enabled = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.is_set():
            if self.enabled.is_set():
                try:
                    self.chopsticks.new_block(timeout=2)
                except (OSError, RuntimeError):
                    pass
            self._done.wait(0.5)

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)


def ready_status(base: str) -> tuple[int, dict]:
    try:
        with _OPENER.open(base + "/ready", timeout=2) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_for(base: str, status: int, within: float, reason: str = "") -> dict:
    deadline = time.monotonic() + within
    last = None
    while time.monotonic() < deadline:
        last = ready_status(base)
        if last[0] == status and (not reason or any(reason in r for r in last[1]["reasons"])):
            return last[1]
        time.sleep(0.2)
    pytest.fail(f"/ready did not answer {status} {reason!r} within {within}s; last answer: {last}")


def test_poll_reads_a_real_node(chopsticks):
    chopsticks.new_block()
    sample = rp.poll_node(chopsticks.url, rp.Settings(rpc_timeout=3.0))
    assert sample.rpc_ok, sample.error
    assert sample.best == chopsticks.best_number()  # zero-padded hex decoded
    assert sample.finalized == sample.best  # Chopsticks finalizes every block at once
    # Chopsticks answers GET /health/readiness with HTTP 200 and a JSON-RPC error: the probe
    # must see through the 200 and fall back to system_health.
    assert sample.readiness_status == 200 and sample.readiness_supported is False
    assert (sample.is_syncing, sample.peers, sample.should_have_peers) == (False, 0, False)


def test_probe_follows_a_real_node(chopsticks):
    settings = rp.Settings(interval=0.5, rpc_timeout=0.4, stall_seconds=4.0, rise=2, fall=2)
    probe = rp.Probe(chopsticks.url, settings)
    server = rp.make_server(probe, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    producer = BlockProducer(chopsticks)
    probe.start()
    try:
        producer.enabled.set()
        body = wait_for(base, 200, within=20)
        assert body["best"] >= 1

        producer.enabled.clear()  # stall: no new blocks for longer than stall_seconds
        wait_for(base, 503, within=15, reason="head not advancing")

        producer.enabled.set()
        wait_for(base, 200, within=15)

        with chopsticks.paused():  # a hung backend: accepts connections, never answers
            wait_for(base, 503, within=10, reason="timed out")
        wait_for(base, 200, within=20)
        assert probe.snapshot()[0].poll_errors > 0
    finally:
        producer.close()
        probe.stop(timeout=5)
        server.shutdown()
        server.server_close()
