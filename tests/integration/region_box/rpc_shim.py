"""A small JSON-RPC shim in front of one Chopsticks node: the parts of a real
polkadot node's RPC surface that Chopsticks lacks, and nothing else.

- **Forwarding.** Every POST and GET is forwarded to Chopsticks unchanged and the answer
  returned with an ``X-Box-Node: <name>`` header, so a client behind the load balancer
  can tell which node answered. The upstream timeout is long (:data:`UPSTREAM_TIMEOUT`):
  while Chopsticks is frozen with SIGSTOP the shim hangs with it, like a wedged node
  whose kernel still accepts connections.
- **``system_syncState``** (Chopsticks has none) is answered by the shim:
  ``currentBlock`` is the node's real best block (asked from Chopsticks, so it hangs
  when the node does), ``highestBlock`` is the "network tip" the test controls
  (:attr:`RpcShim.tip`; ``None`` means in sync: tip = best), ``startingBlock`` is 0.
- **Two listeners, like the node the library configures:** a PUBLIC port capped at
  ``max_connections`` concurrent connections, beyond which it answers
  ``HTTP 429 Too many connections`` (what polkadot's RPC server does at
  ``--rpc-max-connections``), and a PRIVATE port with its own cap (the localhost-only
  listener the probe uses: clients cannot exhaust the probe's capacity). Which one
  the probe talks to is decided by the probe's rendered ``--rpc-url``.
- **Peers** (optional): with :attr:`RpcShim.peers` set, ``system_health`` reports that
  many peers and ``shouldHavePeers: true`` (Chopsticks always says 0 and false).
- **Killing** the node: :meth:`RpcShim.close` closes both listeners, so clients get
  "connection refused" like a dead process (used together with killing Chopsticks).

Standard library only, one thread per connection (``ThreadingHTTPServer``).
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UPSTREAM_TIMEOUT = 60.0
"""Seconds the shim waits for Chopsticks; longer than any fault the box injects."""
HANDLER_TIMEOUT = 120.0
"""Seconds a connection may sit idle before the shim closes it (holds saturating
connections open for the whole saturation fault)."""
NODE_HEADER = "X-Box-Node"

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256

    def __init__(self, address, handler, shim: "RpcShim", max_connections: int | None) -> None:
        self.shim = shim
        self.max_connections = max_connections
        self.active = 0
        self.rejected = 0
        self.peak = 0
        self._lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:
        with self._lock:
            over = self.max_connections is not None and self.active >= self.max_connections
            if over:
                self.rejected += 1
            else:
                self.active += 1
                self.peak = max(self.peak, self.active)
        if over:
            threading.Thread(target=_reject, args=(request, self.shim.name), daemon=True).start()
        else:
            super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._lock:
                self.active -= 1


def _reject(sock: socket.socket, name: str) -> None:
    """Read the request head (so the client sees the answer, not a reset), answer 429."""
    body = b"Too many connections. Please try again later."
    try:
        sock.settimeout(2.0)
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        sock.sendall(
            b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nConnection: close\r\n"
            + f"{NODE_HEADER}: {name}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        )
    except OSError:
        pass
    finally:
        try:
            sock.close()
        except OSError:
            pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = HANDLER_TIMEOUT
    protocol_version = "HTTP/1.0"  # one request per connection: connection counts stay exact

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self._forward(None)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        shim = self.server.shim
        try:
            call = json.loads(body)
        except ValueError:
            call = None
        method = call.get("method") if isinstance(call, dict) else None
        if method == "system_syncState":
            return self._answer(call, shim.sync_state)
        if method == "system_health" and shim.peers is not None:
            return self._answer(call, shim.health)
        self._forward(body)

    def _answer(self, call: dict, compute) -> None:
        try:
            result = compute()
        except (OSError, RuntimeError) as exc:
            return self._send(502, json.dumps({"error": f"upstream: {exc}"}).encode())
        reply = {"jsonrpc": "2.0", "id": call.get("id"), "result": result}
        self._send(200, json.dumps(reply).encode())

    def _forward(self, body: bytes | None) -> None:
        shim = self.server.shim
        request = urllib.request.Request(
            shim.upstream + self.path, data=body, method="POST" if body is not None else "GET",
            headers={"Content-Type": "application/json"} if body is not None else {},
        )
        try:
            with _OPENER.open(request, timeout=UPSTREAM_TIMEOUT) as resp:
                status, data = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, data = exc.code, exc.read()
        except OSError as exc:  # the node is gone or hung past the upstream timeout
            status, data = 502, json.dumps({"error": f"upstream: {exc}"}).encode()
        self._send(status, data)

    def _send(self, status: int, data: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header(NODE_HEADER, self.server.shim.name)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client (or HAProxy) gave up first


class RpcShim:
    """The shim for node ``name`` in front of ``node`` (a ``Chopsticks`` from
    ``tests/integration/conftest.py``: ``url`` and ``rpc``); see the module
    docstring. ``public_url`` is what the load balancer targets, ``private_url`` what
    the probe's rewritten ``--rpc-url`` may point at; each listener has its own cap
    (``None``: none), as polkadot's per-endpoint ``max-connections``."""

    def __init__(self, name: str, node, *, max_connections: int, private_max_connections: int | None = None) -> None:
        self.name = name
        self.node = node
        self.upstream = node.url.rstrip("/")
        self.tip: int | None = None
        self.peers: int | None = None
        self.public = _Server(("127.0.0.1", 0), _Handler, self, max_connections)
        self.private = _Server(("127.0.0.1", 0), _Handler, self, private_max_connections)
        self.public_port = self.public.server_address[1]
        self.private_port = self.private.server_address[1]
        self.public_url = f"http://127.0.0.1:{self.public_port}"
        self.private_url = f"http://127.0.0.1:{self.private_port}"
        self._threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
                         for s in (self.public, self.private)]
        for thread in self._threads:
            thread.start()
        self.closed = False

    def _upstream(self, method: str, params: list | None = None):
        return self.node.rpc(method, params, timeout=UPSTREAM_TIMEOUT)

    def best(self) -> int:
        return int(self._upstream("chain_getHeader")["number"], 16)

    def sync_state(self) -> dict:
        best = self.best()
        tip = self.tip
        return {"startingBlock": 0, "currentBlock": best, "highestBlock": best if tip is None else max(tip, best)}

    def health(self) -> dict:
        health = self._upstream("system_health")
        return {**health, "peers": self.peers, "shouldHavePeers": True}

    @property
    def public_connections(self) -> int:
        return self.public.active

    @property
    def public_rejected(self) -> int:
        return self.public.rejected

    def close(self) -> None:
        """Close both listeners: clients get "connection refused" from now on."""
        if self.closed:
            return
        self.closed = True
        for server in (self.public, self.private):
            server.shutdown()
            server.server_close()
