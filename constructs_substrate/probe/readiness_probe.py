"""Readiness probe for a Substrate/Polkadot RPC node, health-checked by a load balancer.

Why it exists: the system this library replaces sent client traffic to nodes that were
syncing, stalled at an old head, or not answering RPC at all, because nothing the load
balancer checked reflected the node's real state. The node's own ``/health/readiness``
only looks at "major sync" and peer count; a node can stall at an old block, stop
finalizing, or fail every RPC call while that endpoint still answers 200. This probe
asks the node the questions a client would, and answers ``GET /ready`` with 200 only when:

- every JSON-RPC call succeeded (a JSON-RPC error carried by HTTP 200 counts as failure);
- ``/health/readiness`` did not refuse (when the node has that endpoint);
- the node is not syncing and has enough peers (``system_health``);
- the best block increased within the last ``--stall-seconds``;
- best minus finalized is at most ``--max-finality-lag`` blocks;
- the node is at most ``--max-network-lag`` blocks behind the best block its peers
  announce (``system_syncState``: ``highestBlock - currentBlock``);

with hysteresis (``--rise`` good polls to become ready, ``--fall`` bad ones to stop) so
one slow answer does not flap the target. A background thread polls the node; HTTP
requests only read the cached verdict, so the load balancer never waits on the node.

``GET /live`` answers a different question, for replacement rather than routing: 200
while the node answered a JSON-RPC call within the last ``--live-seconds``, whatever
its sync state, head, finality or peers. A stalled chain keeps every node live.

Deliberately a single file using the Python 3.10+ standard library only: it is copied
verbatim onto instances and run by systemd, e.g.::

    python3 readiness_probe.py --rpc-url http://127.0.0.1:9956 --listen 0.0.0.0:9955 \\
        --max-network-lag 10

See docs/probe.md for every option, endpoint and metric.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import math
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import astuple, dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger("readiness_probe")

STALE_POLLS = 3
"""/ready fails when the last poll finished more than this many intervals ago."""
MAX_BODY = 1 << 20
"""Bytes read from any node response; a header or health answer is far smaller."""

# Never route loopback node traffic through an http_proxy set in the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --------------------------------------------------------------------------- decision


@dataclass(frozen=True)
class Settings:
    """Policy and timing. Defaults suit a Polkadot-like chain with ~6 s blocks."""

    interval: float = 5.0
    rpc_timeout: float = 3.0
    stall_seconds: float = 60.0
    max_finality_lag: int = 20
    min_peers: int = 1
    rise: int = 2
    fall: int = 2
    max_network_lag: int = 10
    live_seconds: float = 30.0

    def __post_init__(self) -> None:
        problems = [message for broken, message in (
            (self.interval <= 0, "interval must be > 0"),
            # rpc_timeout bounds a whole poll, so a poll always ends before the next is
            # due and a hung node can never make the poller look stale.
            (not 0 < self.rpc_timeout <= self.interval, "rpc_timeout must be > 0 and <= interval"),
            # With a window shorter than one poll the head could never be seen advancing.
            (self.stall_seconds <= self.interval, "stall_seconds must be > interval"),
            (self.max_finality_lag < 0, "max_finality_lag must be >= 0"),
            (self.min_peers < 0, "min_peers must be >= 0"),
            (self.max_network_lag < 1, "max_network_lag must be >= 1"),
            # A healthy node answers once per interval: a shorter window would flap /live.
            (self.live_seconds <= self.interval + self.rpc_timeout, "live_seconds must be > interval + rpc_timeout"),
            (self.rise < 1 or self.fall < 1, "rise and fall must be >= 1"),
        ) if broken]
        if problems:
            raise ValueError("; ".join(problems) + f" (got {self})")


@dataclass(frozen=True)
class Sample:
    """What one poll observed.

    ``at`` is a ``time.monotonic()`` reading (immune to wall-clock jumps). ``error`` is the
    first failure of the poll; fields read before it stay set (a best block read before a
    timeout is still a true observation), the rest are None.
    ``readiness_status`` is the HTTP status of ``GET /health/readiness``;
    ``readiness_supported`` is False when the node has no such endpoint.
    ``current`` / ``highest`` are ``system_syncState``'s ``currentBlock`` and
    ``highestBlock`` (None when the node lacks the method, or does not know the
    network's best block yet). ``answered`` is True when at least one JSON-RPC call of
    the poll returned a result: the node process is alive, whatever else failed.
    """

    at: float
    error: str | None = None
    readiness_status: int | None = None
    readiness_supported: bool = True
    is_syncing: bool | None = None
    peers: int | None = None
    should_have_peers: bool | None = None
    best: int | None = None
    finalized: int | None = None
    current: int | None = None
    highest: int | None = None
    answered: bool = False

    def __post_init__(self) -> None:
        if self.error is None:
            missing = [
                name
                for name in ("readiness_status", "is_syncing", "peers", "should_have_peers", "best", "finalized")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"a sample without error must have every field; missing {missing}")

    @property
    def rpc_ok(self) -> bool:
        return self.error is None

    @property
    def network_lag(self) -> int | None:
        """Blocks behind the best block peers announce; None when unknown."""
        if self.current is None or self.highest is None:
            return None
        return max(0, self.highest - self.current)


@dataclass(frozen=True)
class ProbeState:
    """The verdict after a sequence of samples, plus what the next evaluation needs."""

    ready: bool = False
    reasons: tuple[str, ...] = ("no poll completed yet",)
    good_streak: int = 0
    bad_streak: int = 0
    last_best: int | None = None
    last_advance_at: float | None = None
    last_answer_at: float | None = None
    sample: Sample | None = None
    polls: int = 0
    poll_errors: int = 0


def problems_of(sample: Sample, settings: Settings, last_best: int | None, last_advance_at: float | None) -> list[str]:
    """Why this sample is bad (empty when it is good)."""
    problems = []
    if sample.error is not None:
        problems.append(f"node RPC failed: {sample.error}")
    else:
        # The node's endpoint can only veto; system_health is always checked as well because
        # it is the only place --min-peers can be enforced, and it is the whole criterion
        # on nodes without the endpoint (Chopsticks, releases before polkadot-sdk 1.14).
        if sample.readiness_supported and sample.readiness_status != 200:
            problems.append(f"/health/readiness answered HTTP {sample.readiness_status}")
        if sample.is_syncing:
            problems.append("node is syncing")
        if sample.should_have_peers and sample.peers < settings.min_peers:
            problems.append(f"node has {sample.peers} peers, needs at least {settings.min_peers}")
        lag = sample.best - sample.finalized
        if lag > settings.max_finality_lag:
            problems.append(f"finality lag {lag} blocks exceeds {settings.max_finality_lag}")
        # Unknown lag (no system_syncState, or no peer has announced a best block yet) is
        # not a failure by itself: isolation is the peers rule's job, and a stalled head
        # the stall rule's. This rule catches a node that advances but falls behind.
        network_lag = sample.network_lag
        if network_lag is not None and network_lag > settings.max_network_lag:
            problems.append(
                f"network lag {network_lag} blocks exceeds {settings.max_network_lag} "
                f"(node #{sample.current}, network #{sample.highest})"
            )
    # Checked even when RPC failed: the stall clock keeps running while the node is silent.
    if last_advance_at is None:
        # Start-up rule: fail closed until the head is seen to increase once. A probe
        # restarted next to a node stuck at an old head would otherwise be ready for a full
        # stall window; the cost on a healthy chain is one block time (~6 s) of not-ready.
        seen = "not read yet" if last_best is None else f"#{last_best}"
        problems.append(f"head not advancing yet: waiting to see best block ({seen}) increase")
    else:
        age = sample.at - last_advance_at
        if age > settings.stall_seconds:
            problems.append(
                f"head not advancing: best block #{last_best} for {age:.0f}s (limit {settings.stall_seconds:g}s)"
            )
    return problems


def evaluate(prev: ProbeState, sample: Sample, settings: Settings) -> ProbeState:
    """Fold one sample into the state. Pure: no I/O, no clock."""
    last_best, last_advance_at = prev.last_best, prev.last_advance_at
    if sample.best is not None:
        # A lower best (node restarted from an older snapshot, deep reorg) is not an advance
        # but becomes the new baseline, so the next increase counts.
        if last_best is not None and sample.best > last_best:
            last_advance_at = sample.at
        last_best = sample.best
    last_answer_at = sample.at if sample.answered else prev.last_answer_at

    problems = problems_of(sample, settings, last_best, last_advance_at)
    if problems:
        good, bad = 0, prev.bad_streak + 1
        ready = prev.ready and bad < settings.fall
        reasons = problems
    else:
        good, bad = prev.good_streak + 1, 0
        ready = prev.ready or good >= settings.rise
        reasons = [] if ready else [f"recovering: {good} of {settings.rise} good polls in a row"]
    return ProbeState(
        ready=ready,
        reasons=tuple(reasons),
        good_streak=good,
        bad_streak=bad,
        last_best=last_best,
        last_advance_at=last_advance_at,
        last_answer_at=last_answer_at,
        sample=sample,
        polls=prev.polls + 1,
        poll_errors=prev.poll_errors + (0 if sample.rpc_ok else 1),
    )


def liveness(state: ProbeState, now: float, settings: Settings) -> tuple[bool, str]:
    """What /live answers: alive while the node answered JSON-RPC within
    ``live_seconds`` of ``now`` (monotonic). Pure. Never looks at sync, head,
    finality, peers or lag: those are routing questions, not replacement ones."""
    if state.last_answer_at is None:
        return False, "no JSON-RPC answer from the node yet"
    age = now - state.last_answer_at
    if age > settings.live_seconds:
        return False, f"no JSON-RPC answer for {age:.0f}s (limit {settings.live_seconds:g}s)"
    return True, f"last JSON-RPC answer {age:.1f}s ago"


# --------------------------------------------------------------------------- node I/O


class PollError(Exception):
    """One request to the node failed; the message says which and why."""


class RpcErrorReply(PollError):
    """The node answered with a JSON-RPC ``error`` object."""


def _request(url: str, body: bytes | None, deadline: float) -> tuple[int, bytes]:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise PollError("timed out (rpc-timeout spent)")
    headers = {"Content-Type": "application/json"} if body is not None else {}
    req = urllib.request.Request(url, data=body, headers=headers, method="POST" if body is not None else "GET")
    try:
        with _OPENER.open(req, timeout=remaining) as resp:
            return resp.status, resp.read(MAX_BODY)
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, exc.read(MAX_BODY)
        except (OSError, http.client.HTTPException):
            return exc.code, b""
    except urllib.error.URLError as exc:
        raise PollError(str(exc.reason)) from None
    except (OSError, http.client.HTTPException) as exc:  # includes TimeoutError, resets
        raise PollError(str(exc) or type(exc).__name__) from None


def _rpc(url: str, method: str, params: list, deadline: float):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    try:
        status, data = _request(url, body, deadline)
    except PollError as exc:
        raise PollError(f"{method}: {exc}") from None
    # Status codes alone prove nothing: Chopsticks and proxies answer 200 with an error body.
    if status != 200:
        raise PollError(f"{method}: HTTP {status}")
    try:
        reply = json.loads(data)
    except ValueError:
        raise PollError(f"{method}: response is not JSON") from None
    if not isinstance(reply, dict):
        raise PollError(f"{method}: response is not a JSON-RPC object")
    if "error" in reply:
        err = reply["error"]
        text = err.get("message", err) if isinstance(err, dict) else err
        raise RpcErrorReply(f"{method}: JSON-RPC error: {str(text)[:200]}")
    if "result" not in reply:
        raise PollError(f"{method}: JSON-RPC response without result")
    return reply["result"]


def _header_number(header, what: str) -> int:
    number = header.get("number") if isinstance(header, dict) else None
    # Numbers are hex strings, possibly zero-padded ("0x0000002a").
    if not (isinstance(number, str) and number.startswith("0x")):
        raise PollError(f"{what}: no block number in header")
    try:
        return int(number, 16)
    except ValueError:
        raise PollError(f"{what}: bad block number {number[:40]!r}") from None


def _block_number(value, what: str) -> int | None:
    # system_syncState numbers are JSON integers; accept hex strings too, and null.
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    try:
        return int(value, 16)
    except (TypeError, ValueError):
        raise PollError(f"system_syncState: bad {what} {str(value)[:40]!r}") from None


def _is_jsonrpc_error(data: bytes) -> bool:
    try:
        reply = json.loads(data)
    except ValueError:
        return False
    return isinstance(reply, dict) and "error" in reply


def poll_node(rpc_url: str, settings: Settings) -> Sample:
    """Ask the node everything one decision needs, within ``settings.rpc_timeout`` in total."""
    deadline = time.monotonic() + settings.rpc_timeout
    seen: dict = {}

    def call(method: str, params: list):
        result = _rpc(rpc_url, method, params, deadline)
        seen["answered"] = True
        return result

    try:
        health = call("system_health", [])
        if not isinstance(health, dict):
            raise PollError("system_health: result is not an object")
        peers, syncing, should = health.get("peers"), health.get("isSyncing"), health.get("shouldHavePeers")
        if not (isinstance(peers, int) and isinstance(syncing, bool) and isinstance(should, bool)):
            raise PollError("system_health: missing peers/isSyncing/shouldHavePeers")
        seen.update(peers=peers, is_syncing=syncing, should_have_peers=should)

        seen["best"] = _header_number(call("chain_getHeader", []), "chain_getHeader")
        finalized_hash = call("chain_getFinalizedHead", [])
        if not isinstance(finalized_hash, str):
            raise PollError("chain_getFinalizedHead: result is not a hash")
        header = call("chain_getHeader", [finalized_hash])
        seen["finalized"] = _header_number(header, "chain_getHeader(finalized)")

        # A JSON-RPC error here means the node has no such method (Chopsticks, some
        # light clients): lag stays unknown. A timeout or HTTP error still fails the poll.
        try:
            sync = call("system_syncState", [])
        except RpcErrorReply:
            sync = None
        if sync is not None:
            if not isinstance(sync, dict):
                raise PollError("system_syncState: result is not an object")
            seen["current"] = _block_number(sync.get("currentBlock"), "currentBlock")
            seen["highest"] = _block_number(sync.get("highestBlock"), "highestBlock")

        try:
            status, data = _request(rpc_url + "/health/readiness", None, deadline)
        except PollError as exc:
            raise PollError(f"GET /health/readiness: {exc}") from None
        seen["readiness_status"] = status
        # 200 + JSON-RPC error body: a server without the endpoint (Chopsticks answers every
        # GET that way). 404/405: a node release that predates it. Either way system_health
        # (checked above) is the criterion; any other status is the node's verdict.
        seen["readiness_supported"] = not ((status == 200 and _is_jsonrpc_error(data)) or status in (404, 405))
    except PollError as exc:
        return Sample(at=time.monotonic(), error=str(exc), **seen)
    return Sample(at=time.monotonic(), **seen)


# --------------------------------------------------------------------------- service


class Probe:
    """Polls the node in a background thread and keeps the latest verdict."""

    def __init__(self, rpc_url: str, settings: Settings) -> None:
        self.rpc_url = rpc_url.rstrip("/")
        self.settings = settings
        self._lock = threading.Lock()
        self._state = ProbeState()
        self._last_poll_wall: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> ProbeState:
        sample = poll_node(self.rpc_url, self.settings)
        with self._lock:
            prev = self._state
            self._state = state = evaluate(prev, sample, self.settings)
            self._last_poll_wall = time.time()
        if state.ready and not prev.ready:
            s = state.sample
            log.info("READY: best #%s, finalized #%s, peers %s", s.best, s.finalized, s.peers)
        elif (prev.ready and not state.ready) or prev.polls == 0:  # also say why at start
            log.warning("NOT READY: %s", "; ".join(state.reasons))
        return state

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="readiness-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # a bug must not kill the poller silently; /ready then goes stale
                log.exception("poll crashed")
            # Fixed cadence; after an overrun start again from now instead of bursting.
            due = max(due + self.settings.interval, time.monotonic())
            self._stop.wait(due - time.monotonic())

    def snapshot(self) -> tuple[ProbeState, float | None]:
        with self._lock:
            return self._state, self._last_poll_wall

    def verdict(self, state: ProbeState | None = None) -> tuple[bool, list[str], ProbeState]:
        """What /ready answers: the cached state, unless the poller has stopped polling."""
        state = state or self.snapshot()[0]
        if state.sample is not None:
            age = time.monotonic() - state.sample.at
            limit = STALE_POLLS * self.settings.interval
            if age > limit:
                return False, [f"poller stale: last poll {age:.1f}s ago (limit {limit:g}s)"], state
        return state.ready, list(state.reasons), state

    def live(self, state: ProbeState | None = None) -> tuple[bool, str, ProbeState]:
        """What /live answers (see :func:`liveness`)."""
        state = state or self.snapshot()[0]
        alive, reason = liveness(state, time.monotonic(), self.settings)
        return alive, reason, state

    def metrics(self) -> str:
        state, last_poll_wall = self.snapshot()
        ready, _, _ = self.verdict(state)
        alive, _, _ = self.live(state)
        s = state.sample
        best = s.best if s else None
        finalized = s.finalized if s else None
        lag = best - finalized if best is not None and finalized is not None else None
        now = time.monotonic()
        since = now - state.last_advance_at if state.last_advance_at is not None else None
        answered = now - state.last_answer_at if state.last_answer_at is not None else None
        rows = [
            ("ready", "gauge", "1 when GET /ready answers 200, else 0.", int(ready)),
            ("live", "gauge", "1 when GET /live answers 200, else 0.", int(alive)),
            ("best_block", "gauge", "Best block number seen by the last poll.", best),
            ("finalized_block", "gauge", "Finalized block number seen by the last poll.", finalized),
            ("finality_lag_blocks", "gauge", "Best minus finalized block number.", lag),
            ("seconds_since_head_advanced", "gauge", "Seconds since the best block last increased.", since),
            ("network_lag_blocks", "gauge", "highestBlock minus currentBlock from system_syncState.",
             s.network_lag if s else None),
            ("network_best_block", "gauge", "highestBlock from system_syncState.", s.highest if s else None),
            ("seconds_since_rpc_answer", "gauge", "Seconds since the node last answered a JSON-RPC call.", answered),
            ("peers", "gauge", "Peers reported by system_health in the last poll.", s.peers if s else None),
            ("poll_errors_total", "counter", "Polls in which a request to the node failed.", state.poll_errors),
            ("last_poll_timestamp_seconds", "gauge", "Unix time the last poll finished.", last_poll_wall),
        ]
        lines = []
        for name, kind, help_text, value in rows:
            name = "substrate_probe_" + name
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {_number(value)}"]
        return "\n".join(lines) + "\n"


def _number(value) -> str:
    # Unknown is NaN, as Prometheus expects, rather than a misleading 0.
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NaN"
    return str(value) if isinstance(value, int) else f"{value:.3f}"


def make_server(probe: Probe, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server answering /ready and /metrics from the probe's cached verdict."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "substrate-readiness-probe"
        timeout = 10  # a client that never finishes its request must not hold a thread forever

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/ready":
                ready, reasons, state = probe.verdict()
                s = state.sample
                body = {"ready": ready, "reasons": reasons}
                if s is not None:
                    body.update(best=s.best, finalized=s.finalized, peers=s.peers)
                self._send(200 if ready else 503, "application/json", json.dumps(body) + "\n")
            elif path == "/live":
                alive, reason, _ = probe.live()
                body = {"live": alive, "reason": reason}
                self._send(200 if alive else 503, "application/json", json.dumps(body) + "\n")
            elif path == "/metrics":
                self._send(200, "text/plain; version=0.0.4; charset=utf-8", probe.metrics())
            else:
                self._send(404, "application/json", '{"error": "not found; try /ready, /live or /metrics"}\n')

        def _send(self, status: int, content_type: str, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args) -> None:
            pass  # the load balancer asks every few seconds; transitions are logged instead

    return ThreadingHTTPServer((host, port), Handler)


# --------------------------------------------------------------------------- CLI


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host, int(port)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line. Every ``Settings`` field is an option of the same name
    (``--stall-seconds`` for ``stall_seconds``) with the same type and default; their
    meaning is documented on :class:`Settings` and in docs/probe.md (the shipped copy
    carries no help texts: they would cost user data)."""
    p = argparse.ArgumentParser(
        description="GET /ready, /live and /metrics for a Substrate node; see docs/probe.md",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    # The node's localhost-only probe listener, and where /ready, /live and /metrics are served.
    p.add_argument("--rpc-url", default="http://127.0.0.1:9956")
    p.add_argument("--listen", type=_listen, default="0.0.0.0:9955")
    names = [f.name for f in fields(Settings)]
    for name, value in zip(names, astuple(Settings())):
        p.add_argument("--" + name.replace("_", "-"), type=type(value), default=value)
    args = p.parse_args(argv)
    try:
        args.settings = Settings(**{name: getattr(args, name) for name in names})
    except ValueError as exc:
        p.error(str(exc))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(message)s")
    probe = Probe(args.rpc_url, args.settings)
    host, port = args.listen
    server = make_server(probe, host, port)
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    probe.start()
    # serve_forever runs in a thread so the main thread stays free to see the signal and
    # call shutdown(), which would deadlock if called from serve_forever's own thread.
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    log.info("serving /ready, /live and /metrics on %s:%d for node %s", host, server.server_address[1], probe.rpc_url)
    while not stopping.wait(1.0):
        pass
    log.info("shutting down")
    server.shutdown()
    server.server_close()
    probe.stop(timeout=args.settings.interval + args.settings.rpc_timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
