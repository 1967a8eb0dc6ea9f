"""The probe's HTTP behaviour against a fake JSON-RPC node served in-process."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from constructs_substrate.probe import readiness_probe as rp

PROBE_FILE = Path(rp.__file__)
FAST = dict(interval=0.2, rpc_timeout=0.15, stall_seconds=2.0, rise=2, fall=2)
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class FakeNode:
    """A JSON-RPC server whose behaviour a test switches with ``mode``:

    healthy  - well-formed answers, the best block grows by one per chain_getHeader()
    syncing  - as healthy, but system_health says isSyncing
    frozen   - as healthy, but the best block never moves
    error    - HTTP 200 with a JSON-RPC error body for every request, GETs included
               (what Chopsticks does for GET /health/readiness)
    garbage  - HTTP 200 with a body that is not JSON
    hang     - accepts the request and never answers (until close())

    ``sync``: what ``system_syncState`` answers: None (no such method: a JSON-RPC
    error, like Chopsticks), or ``{"behind": N}`` for a node N blocks behind the
    network tip, or ``{"highest": None}`` for a node that knows no tip yet.
    """

    def __init__(self, mode: str = "healthy", readiness_status: int = 200) -> None:
        self.mode = mode
        self.readiness_status = readiness_status
        self.best = 40
        self.sync: dict | None = None
        self._release = threading.Event()
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if node._stall():
                    return
                self._json({"jsonrpc": "2.0", "id": request["id"], **node.answer(request)})

            def do_GET(self) -> None:
                if node._stall():
                    return
                if node.mode == "error":
                    self._json({"jsonrpc": "2.0", "id": None, "error": {"message": "Only POST method is supported"}})
                else:
                    self._send(node.readiness_status, b"")

            def _json(self, body: dict) -> None:
                self._send(200, json.dumps(body).encode() if node.mode != "garbage" else b"<html>oops</html>")

            def _send(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _stall(self) -> bool:
        if self.mode == "hang":
            self._release.wait(10)
            return True
        return False

    def answer(self, request: dict) -> dict:
        method, params = request["method"], request["params"]
        if self.mode == "error":
            return {"error": {"message": f"Method not found: {method}"}}
        if method == "system_health":
            return {"result": {"peers": 3, "isSyncing": self.mode == "syncing", "shouldHavePeers": True}}
        if method == "chain_getFinalizedHead":
            return {"result": "0x" + "ab" * 32}
        if method == "chain_getHeader" and not params:
            if self.mode != "frozen":
                self.best += 1
            return {"result": {"number": f"0x{self.best:08x}", "parentHash": "0x00"}}
        if method == "chain_getHeader":
            return {"result": {"number": f"0x{self.best - 1:08x}", "parentHash": "0x00"}}
        if method == "system_syncState" and self.sync is not None:
            highest = self.sync.get("highest", self.best + self.sync.get("behind", 0))
            return {"result": {"startingBlock": 0, "currentBlock": self.best, "highestBlock": highest}}
        return {"error": {"message": f"Method not found: {method}"}}

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def node():
    fake = FakeNode()
    yield fake
    fake.close()


@contextmanager
def running_probe(rpc_url: str, **overrides):
    probe = rp.Probe(rpc_url, rp.Settings(**{**FAST, **overrides}))
    server = rp.make_server(probe, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    probe.start()
    try:
        yield probe, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        probe.stop(timeout=2)
        server.shutdown()
        server.server_close()


def get(url: str) -> tuple[int, str]:
    try:
        with _OPENER.open(url, timeout=2) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_for_status(url: str, status: int, timeout: float = 5.0, reason: str = "") -> dict:
    """Poll url until it answers `status` (and a reason containing `reason`); bounded."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = get(url)
        body = json.loads(seen[1])
        if seen[0] == status and any(reason in r for r in body["reasons"] or [""]):
            return body
        time.sleep(0.05)
    pytest.fail(f"{url} did not answer {status} {reason!r} within {timeout}s; last: {seen}")


def test_healthy_node_is_ready(node):
    with running_probe(node.url) as (_, base):
        body = wait_for_status(base + "/ready", 200)
        assert body["ready"] is True and body["best"] > 40 and body["finalized"] == body["best"] - 1


def test_syncing_node_is_not_ready_and_says_why(node):
    node.mode = "syncing"
    with running_probe(node.url) as (_, base):
        body = wait_for_status(base + "/ready", 503, reason="node is syncing")
        assert body["ready"] is False


def test_frozen_head_is_not_ready(node):
    with running_probe(node.url) as (_, base):
        wait_for_status(base + "/ready", 200)
        node.mode = "frozen"
        # stall_seconds is 2: ready until then, not ready soon after.
        wait_for_status(base + "/ready", 503, timeout=5, reason="head not advancing: best block")


def test_readiness_500_is_not_ready(node):
    node.readiness_status = 500
    with running_probe(node.url) as (_, base):
        wait_for_status(base + "/ready", 503, reason="/health/readiness answered HTTP 500")


@pytest.mark.parametrize("mode, reason", [("error", "JSON-RPC error"), ("garbage", "not JSON")])
def test_http_200_with_a_bad_body_is_never_ready(node, mode, reason):
    node.mode = mode
    with running_probe(node.url) as (probe, base):
        time.sleep(2.0)  # ~10 polls: plenty for rise=2 if errors were trusted
        body = wait_for_status(base + "/ready", 503, reason=reason)
        assert probe.snapshot()[0].good_streak == 0
        assert "substrate_probe_poll_errors_total 0\n" not in get(base + "/metrics")[1]


def test_hanging_node_times_out_and_ready_answers_fast(node):
    with running_probe(node.url) as (_, base):
        wait_for_status(base + "/ready", 200)
        node.mode = "hang"
        wait_for_status(base + "/ready", 503, reason="timed out")
        started = time.monotonic()
        assert get(base + "/ready")[0] == 503
        assert time.monotonic() - started < 0.5  # served from cache, never waits on the node


def test_stale_poller_is_not_ready(node):
    with running_probe(node.url) as (probe, base):
        wait_for_status(base + "/ready", 200)
        probe.stop(timeout=2)
        wait_for_status(base + "/ready", 503, reason="poller stale")


def test_unknown_paths_are_404(node):
    with running_probe(node.url) as (_, base):
        assert get(base + "/")[0] == 404
        assert get(base + "/health")[0] == 404


METRIC_LINE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (\S+)$")
METRICS = [
    "substrate_probe_ready",
    "substrate_probe_live",
    "substrate_probe_best_block",
    "substrate_probe_finalized_block",
    "substrate_probe_finality_lag_blocks",
    "substrate_probe_seconds_since_head_advanced",
    "substrate_probe_network_lag_blocks",
    "substrate_probe_network_best_block",
    "substrate_probe_seconds_since_rpc_answer",
    "substrate_probe_peers",
    "substrate_probe_poll_errors_total",
    "substrate_probe_last_poll_timestamp_seconds",
]


def parse_metrics(text: str) -> dict[str, float]:
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = METRIC_LINE.match(line)
        assert match, f"not a Prometheus sample line: {line!r}"
        values[line.split("{")[0].split(" ")[0]] = float(match.group(2))
    return values


def test_metrics_parse_and_describe_the_node(node):
    with running_probe(node.url) as (_, base):
        # Before the first poll unknown values are NaN, and still parse.
        assert set(parse_metrics(get(base + "/metrics")[1])) == set(METRICS)
        wait_for_status(base + "/ready", 200)
        status, text = get(base + "/metrics")
    assert status == 200
    values = parse_metrics(text)
    assert set(values) == set(METRICS)
    for name in METRICS:
        assert f"# HELP {name} " in text and f"# TYPE {name} " in text
    assert values["substrate_probe_ready"] == 1 and values["substrate_probe_live"] == 1
    assert 0 <= values["substrate_probe_seconds_since_rpc_answer"] < 2
    # The fake node has no system_syncState: the lag is unknown, not 0.
    assert values["substrate_probe_network_lag_blocks"] != values["substrate_probe_network_lag_blocks"]  # NaN
    assert values["substrate_probe_finality_lag_blocks"] == 1
    assert values["substrate_probe_peers"] == 3
    assert 0 <= values["substrate_probe_seconds_since_head_advanced"] < 2
    assert abs(values["substrate_probe_last_poll_timestamp_seconds"] - time.time()) < 5


def test_cli_serves_and_exits_cleanly_on_sigterm(node, tmp_path):
    # Run the file itself, as systemd does: proves it needs nothing beyond the stdlib.
    log = tmp_path / "probe.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-I", str(PROBE_FILE), "--rpc-url", node.url, "--listen", "127.0.0.1:0",
             "--interval", "0.2", "--rpc-timeout", "0.15", "--stall-seconds", "2"],
            stderr=err,
        )
    try:
        deadline, port = time.monotonic() + 10, None
        while port is None and time.monotonic() < deadline:
            match = re.search(r"on 127\.0\.0\.1:(\d+)", log.read_text())
            port = match and int(match.group(1))
            time.sleep(0.05)
        assert port, log.read_text()
        wait_for_status(f"http://127.0.0.1:{port}/ready", 200)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert "READY: best #" in text and "shutting down" in text


def test_cli_rejects_inconsistent_settings():
    result = subprocess.run(
        [sys.executable, "-I", str(PROBE_FILE), "--interval", "1", "--rpc-timeout", "2"],
        capture_output=True, text=True, timeout=10,
    )
    assert result.returncode == 2 and "rpc_timeout must be" in result.stderr


# --------------------------------------------------------------------------- network lag


def test_node_behind_the_network_is_not_ready_and_recovers(node):
    node.sync = {"behind": 0}
    with running_probe(node.url, max_network_lag=5) as (_, base):
        wait_for_status(base + "/ready", 200)
        node.sync = {"behind": 6}
        body = wait_for_status(base + "/ready", 503, reason="network lag 6 blocks exceeds 5")
        assert body["ready"] is False
        assert get(base + "/live")[0] == 200  # lagging is a routing question only
        metrics = parse_metrics(get(base + "/metrics")[1])
        assert metrics["substrate_probe_network_lag_blocks"] == 6
        node.sync = {"behind": 5}
        wait_for_status(base + "/ready", 200)


@pytest.mark.parametrize("sync", [None, {"highest": None}], ids=["no system_syncState", "null highestBlock"])
def test_unknown_network_tip_is_not_a_failure(node, sync):
    node.sync = sync
    with running_probe(node.url, max_network_lag=1) as (probe, base):
        wait_for_status(base + "/ready", 200)
        sample = probe.snapshot()[0].sample
        assert sample.network_lag is None and sample.current is (None if sync is None else sample.best)


# --------------------------------------------------------------------------- liveness


def wait_for_live(url: str, status: int, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = get(url)
        if seen[0] == status:
            return json.loads(seen[1])
        time.sleep(0.05)
    pytest.fail(f"{url} did not answer {status} within {timeout}s; last: {seen}")


LIVE = dict(live_seconds=1.0)


@pytest.mark.parametrize("mode", ["syncing", "frozen"])
def test_live_while_the_node_answers_whatever_its_state(node, mode):
    node.mode = mode
    node.sync = {"behind": 500}
    with running_probe(node.url, **LIVE) as (_, base):
        body = wait_for_live(base + "/live", 200)
        assert body["live"] is True
        time.sleep(2.5)  # beyond stall_seconds (2) and live_seconds (1)
        assert get(base + "/ready")[0] == 503
        status, text = get(base + "/live")
        assert status == 200, text


@pytest.mark.parametrize("mode", ["hang", "error", "garbage"])
def test_not_live_when_the_node_stops_answering(node, mode):
    with running_probe(node.url, **LIVE) as (_, base):
        wait_for_live(base + "/live", 200)
        node.mode = mode
        started = time.monotonic()
        body = wait_for_live(base + "/live", 503, timeout=5)
        assert "no JSON-RPC answer for" in body["reason"] and body["live"] is False
        assert time.monotonic() - started >= 0.5  # only after live_seconds without an answer


def test_not_live_before_the_first_answer_and_when_nothing_listens():
    with running_probe("http://127.0.0.1:9", **LIVE) as (_, base):  # discard port: refused
        status, text = get(base + "/live")
        assert status == 503 and json.loads(text)["live"] is False


def test_live_again_once_the_node_answers(node):
    with running_probe(node.url, **LIVE) as (_, base):
        wait_for_live(base + "/live", 200)
        node.mode = "error"
        wait_for_live(base + "/live", 503)
        node.mode = "healthy"
        wait_for_live(base + "/live", 200)


def test_cli_takes_network_lag_and_live_seconds():
    args = rp.parse_args(["--max-network-lag", "7", "--live-seconds", "45"])
    assert args.settings.max_network_lag == 7 and args.settings.live_seconds == 45
    assert args.rpc_url == "http://127.0.0.1:9956"  # the probe listener, not the public port
    result = subprocess.run(
        [sys.executable, "-I", str(PROBE_FILE), "--max-network-lag", "0", "--live-seconds", "4"],
        capture_output=True, text=True, timeout=10,
    )
    assert result.returncode == 2
    assert "max_network_lag must be >= 1" in result.stderr and "live_seconds must be >" in result.stderr
