"""The synthetic check a client would make against a public Substrate endpoint.

Over one WebSocket connection, as a wallet or dapp does:

1. ``system_health``: fails when the node says it is syncing, or should have peers and
   has none;
2. ``chain_getHeader``: the best block number B;
3. ``chain_getFinalizedHead`` + ``chain_getHeader(hash)``: fails when B leads finalized
   by more than ``max_finality_lag``;
4. ``chain_subscribeNewHeads``: fails unless a header numbered above B arrives within
   ``new_head_seconds``.

Step 4 is why a run needs no memory of the previous one (a canary run is stateless):
a node stalled at an old head, or a backend that accepts connections and never
answers, fails within one run, while a healthy chain passes as soon as its next block
is announced (about one block time). It also exercises subscriptions, the part of the
WebSocket API a plain HTTP check never touches. Any error, timeout or JSON-RPC error
fails the check.

Standard library only: shipped in the canary's zip and run by the Synthetics runtime.
"""

from __future__ import annotations

import json
import ssl
import time
from dataclasses import dataclass, field

from .websocket import WebSocket, WebSocketError

MAX_NOTIFICATIONS = 1000
"""Buffered subscription messages; more means something floods the connection."""


class CheckFailed(Exception):
    """The endpoint answered, but not the way a healthy node does."""


class RpcError(CheckFailed):
    def __init__(self, method: str, error) -> None:
        super().__init__(f"{method} returned a JSON-RPC error: {error}")
        self.error = error


@dataclass(frozen=True)
class CheckSettings:
    new_head_seconds: float = 30.0
    max_finality_lag: int = 30
    timeout: float = 10.0
    """Handshake and per-call timeout, seconds."""

    def __post_init__(self) -> None:
        if self.new_head_seconds <= 0 or self.timeout <= 0 or self.max_finality_lag < 0:
            raise ValueError("new_head_seconds and timeout must be > 0, max_finality_lag >= 0")


@dataclass
class CheckResult:
    endpoint: str
    ok: bool = False
    error: str | None = None
    peers: int | None = None
    best: int | None = None
    finalized: int | None = None
    new_head: int | None = None
    seconds: float = 0.0
    steps: list[str] = field(default_factory=list)

    def summary(self) -> str:
        state = "ok" if self.ok else f"FAILED: {self.error}"
        return (
            f"{self.endpoint}: {state} (peers={self.peers}, best={self.best}, finalized={self.finalized}, "
            f"new head={self.new_head}, {self.seconds:.1f}s)"
        )


class RpcConnection:
    """JSON-RPC 2.0 over a :class:`WebSocket`: calls by id, subscription messages buffered."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self._next_id = 1
        self._notifications: list[dict] = []

    def _message(self, deadline: float) -> dict:
        raw = self.ws.recv(timeout=max(deadline - time.monotonic(), 0.001))
        try:
            message = json.loads(raw)
        except (TypeError, ValueError):
            raise CheckFailed(f"not a JSON-RPC message: {raw[:200]!r}") from None
        if not isinstance(message, dict):
            raise CheckFailed(f"not a JSON-RPC message: {raw[:200]!r}")
        return message

    def call(self, method: str, params: list | None = None, *, timeout: float):
        request_id = self._next_id
        self._next_id += 1
        deadline = time.monotonic() + timeout
        self.ws.send_text(
            json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or []}),
            timeout=timeout,
        )
        while True:
            message = self._message(deadline)
            if message.get("id") == request_id:
                if "error" in message:
                    raise RpcError(method, message["error"])
                if "result" not in message:
                    raise CheckFailed(f"{method}: answer without result: {message}")
                return message["result"]
            if "method" in message and len(self._notifications) < MAX_NOTIFICATIONS:
                self._notifications.append(message)

    def notification(self, subscription, *, deadline: float) -> dict:
        """The next ``result`` published on ``subscription``."""
        while True:
            for index, message in enumerate(self._notifications):
                params = message.get("params") or {}
                if params.get("subscription") == subscription:
                    del self._notifications[index]
                    return params.get("result")
            if time.monotonic() >= deadline:
                raise TimeoutError
            message = self._message(deadline)
            if "method" in message and len(self._notifications) < MAX_NOTIFICATIONS:
                self._notifications.append(message)


def block_number(header, what: str) -> int:
    """A header's ``number`` (hex, possibly zero-padded) as an int."""
    try:
        value = header["number"]
        if not (isinstance(value, str) and value.startswith("0x")):
            raise ValueError
        return int(value, 16)
    except (TypeError, KeyError, ValueError):
        raise CheckFailed(f"{what}: not a header with a hex block number: {str(header)[:200]}") from None


def run_checks(rpc: RpcConnection, settings: CheckSettings, result: CheckResult) -> None:
    t = settings.timeout
    health = rpc.call("system_health", timeout=t)
    if not isinstance(health, dict):
        raise CheckFailed(f"system_health: unexpected answer {health!r}")
    result.peers = health.get("peers")
    result.steps.append("system_health")
    if health.get("isSyncing"):
        raise CheckFailed("the node reports it is syncing")
    if health.get("shouldHavePeers") and not health.get("peers"):
        raise CheckFailed("the node has no peers")

    result.best = block_number(rpc.call("chain_getHeader", timeout=t), "chain_getHeader")
    result.steps.append("chain_getHeader")
    finalized_hash = rpc.call("chain_getFinalizedHead", timeout=t)
    result.finalized = block_number(rpc.call("chain_getHeader", [finalized_hash], timeout=t), "finalized header")
    result.steps.append("finality")
    lag = result.best - result.finalized
    if lag > settings.max_finality_lag:
        raise CheckFailed(f"finalized block #{result.finalized} is {lag} blocks behind best #{result.best}")

    subscription = rpc.call("chain_subscribeNewHeads", timeout=t)
    deadline = time.monotonic() + settings.new_head_seconds
    try:
        while True:
            try:
                header = rpc.notification(subscription, deadline=deadline)
            except TimeoutError:  # also WebSocketTimeout; a closed connection propagates
                raise CheckFailed(
                    f"no new block within {settings.new_head_seconds:g}s: the head is stuck at #{result.best}"
                ) from None
            number = block_number(header, "chain_newHead")
            if number > result.best:
                result.new_head = number
                result.steps.append("chain_subscribeNewHeads")
                break
    finally:
        try:
            rpc.call("chain_unsubscribeNewHeads", [subscription], timeout=min(t, 2.0))
        except (CheckFailed, WebSocketError, OSError):
            pass


def check_endpoint(
    url: str, settings: CheckSettings = CheckSettings(), *, ssl_context: ssl.SSLContext | None = None
) -> CheckResult:
    """Run the whole check against ``url``; never raises, the outcome is in the result."""
    result = CheckResult(endpoint=url)
    started = time.monotonic()
    ws = None
    try:
        ws = WebSocket.connect(url, timeout=settings.timeout, ssl_context=ssl_context)
        result.steps.append("handshake")
        run_checks(RpcConnection(ws), settings, result)
        result.ok = True
    except (CheckFailed, WebSocketError, OSError, ValueError) as exc:
        result.error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, CheckFailed) else str(exc)
    finally:
        if ws is not None:
            ws.close(timeout=1.0)
        result.seconds = time.monotonic() - started
    return result
