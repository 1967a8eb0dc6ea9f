"""HAProxy (Debian's package) standing in for the ALB, configured FROM the synthesized
RPC target group (``aws_lb_target_group`` with port 9944) and the ``aws_lb``.

Mapping, ALB → HAProxy (``HealthCheck``/``TargetGroup`` in :func:`from_synth`):

| ALB (synthesized) | HAProxy | note |
| --- | --- | --- |
| ``health_check.path`` + ``matcher`` | ``option httpchk GET <path>``, ``http-check expect status <matcher>`` (``rstatus`` for ranges/lists) | |
| ``health_check.port`` (the probe's port, 9955) | ``check port <probe port of that node>`` | the box runs every probe on its own loopback port; the synthesized port is kept in the figures |
| ``health_check.interval`` | ``inter``, ``fastinter``, ``downinter`` (all equal) | an ALB checks at one fixed interval whatever the target's state; HAProxy would otherwise change it during transitions |
| ``health_check.timeout`` | ``timeout check`` (and ``timeout connect``) | |
| ``healthy_threshold`` | ``rise`` | |
| ``unhealthy_threshold`` | ``fall`` | |
| ``load_balancing_algorithm_type = least_outstanding_requests`` | ``balance leastconn`` | the shim serves one request per connection, so connections = outstanding requests |
| ``stickiness.enabled = false`` | no cookie | |
| ``aws_lb.idle_timeout`` | ``timeout client``/``server``/``tunnel`` | |
| fail open (all targets unhealthy → all get traffic) | each server twice: checked primaries plus the same addresses as ``backup`` servers without checks, ``option allbackups`` | backups are used only when no primary is UP, then all at once; ``nbsrv(rpc)`` counts the primaries |
| a target turning unhealthy: no new requests, in-flight ones continue | default (no ``on-marked-down shutdown-sessions``) | the ALB guide documents no termination of an unhealthy target's connections (the NLB guide does: TCP RST) |
| ``deregistration_delay`` | runtime API ``set server … state drain``, then ``maint`` + ``shutdown sessions`` once no session is left or the delay has passed (:meth:`HAProxy.deregister`) | it applies to deregistration (scale-in, instance refresh, replacement), never to failing health checks |

Differences kept on purpose: an ALB needs one passing check after registration, HAProxy
2.6 starts every server UP (the box starts HAProxy only once every probe answers 200);
an ALB runs checks from each of its nodes independently, HAProxy is one node.

The runtime API (stats socket, ``level admin``) is read by :class:`StateLog`, which
records each server's state transitions (``show stat``) with monotonic timestamps.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BACKEND = "rpc"


@dataclass(frozen=True)
class HealthCheck:
    path: str
    port: int
    matcher: str
    interval: int
    timeout: int
    healthy_threshold: int
    unhealthy_threshold: int


@dataclass(frozen=True)
class TargetGroup:
    """What the box takes from the synthesized RPC target group and its ALB."""

    port: int
    health: HealthCheck
    deregistration_delay: int
    algorithm: str
    idle_timeout: int
    address: str

    def rows(self) -> list[tuple[str, str, str]]:
        """(ALB setting, synthesized value, HAProxy setting) for the printed mapping."""
        h = self.health
        return [
            ("health_check.path / matcher", f"{h.path} / {h.matcher}", f"option httpchk GET {h.path}; http-check expect"),
            ("health_check.port", str(h.port), "check port <probe's loopback port>"),
            ("health_check.interval", f"{h.interval}s", f"inter/fastinter/downinter {h.interval}s"),
            ("health_check.timeout", f"{h.timeout}s", f"timeout check (and connect) {h.timeout}s"),
            ("healthy_threshold", str(h.healthy_threshold), f"rise {h.healthy_threshold}"),
            ("unhealthy_threshold", str(h.unhealthy_threshold), f"fall {h.unhealthy_threshold}"),
            ("load_balancing_algorithm_type", self.algorithm, "balance leastconn"),
            ("aws_lb.idle_timeout", f"{self.idle_timeout}s", f"timeout client/server/tunnel {self.idle_timeout}s"),
            ("deregistration_delay", f"{self.deregistration_delay}s", "drain; maint when no session is left or after the delay"),
            ("fail open", "all unhealthy -> all", "unchecked backups + option allbackups"),
        ]


def from_synth(document: dict) -> TargetGroup:
    """The RPC target group (the one whose port is not its health-check port: the other,
    the readiness group for Route53, targets the probe itself) and the ALB."""
    groups = document["resource"]["aws_lb_target_group"]
    (address, group), = [(k, g) for k, g in groups.items() if str(g["port"]) != str(g["health_check"]["port"])]
    (lb,) = document["resource"]["aws_lb"].values()
    hc = group["health_check"]
    assert hc["protocol"] == "HTTP" and hc["enabled"] is True, hc
    return TargetGroup(
        port=int(group["port"]),
        health=HealthCheck(
            path=hc["path"], port=int(hc["port"]), matcher=str(hc["matcher"]), interval=int(hc["interval"]),
            timeout=int(hc["timeout"]), healthy_threshold=int(hc["healthy_threshold"]),
            unhealthy_threshold=int(hc["unhealthy_threshold"]),
        ),
        deregistration_delay=int(group["deregistration_delay"]),
        algorithm=group.get("load_balancing_algorithm_type", "round_robin"),
        idle_timeout=int(lb.get("idle_timeout", 60)),
        address=f"aws_lb_target_group.{address}",
    )


def _expect(matcher: str) -> str:
    if re.fullmatch(r"\d{3}", matcher):
        return f"status {matcher}"
    alternatives = []
    for part in matcher.split(","):
        low, _, high = part.strip().partition("-")
        codes = range(int(low), int(high or low) + 1)
        alternatives += [str(c) for c in codes]
    return f"rstatus ^({'|'.join(alternatives)})$"


@dataclass(frozen=True)
class Server:
    name: str
    port: int
    """The node's public RPC port (the target group's port, 9944, on an instance)."""
    check_port: int
    """The probe's port (the health check's port, 9955, on an instance)."""


def render_config(group: TargetGroup, servers: list[Server], *, frontend_port: int, socket_path: Path) -> str:
    h = group.health
    lines = [
        "# Rendered by tests/integration/region_box/haproxy.py from " + group.address,
        "global",
        f"    stats socket {socket_path} mode 600 level admin",
        "    stats timeout 10s",
        "defaults",
        "    mode http",
        "    option http-server-close",  # one request per server connection, like the shim
        f"    timeout connect {h.timeout}s",
        f"    timeout check {h.timeout}s",
        f"    timeout client {group.idle_timeout}s",
        f"    timeout server {group.idle_timeout}s",
        f"    timeout tunnel {group.idle_timeout}s",
        "    retries 0",  # an ALB does not retry a request on another target
        f"    default-server inter {h.interval}s fastinter {h.interval}s downinter {h.interval}s "
        f"rise {h.healthy_threshold} fall {h.unhealthy_threshold}",
        "frontend rpc_in",
        f"    bind 127.0.0.1:{frontend_port}",
        f"    default_backend {BACKEND}",
        f"backend {BACKEND}",
        "    balance leastconn",
        f"    option httpchk GET {h.path}",
        f"    http-check expect {_expect(h.matcher)}",
        # Fail open: with no primary UP, every backup (the same nodes, unchecked) gets traffic.
        "    option allbackups",
    ]
    for s in servers:
        lines.append(f"    server {s.name} 127.0.0.1:{s.port} check port {s.check_port}")
    for s in servers:
        lines.append(f"    server {s.name}-failopen 127.0.0.1:{s.port} backup")
    return "\n".join(lines) + "\n"


class HAProxy:
    """``haproxy -db`` in the foreground with the rendered config; runtime API on a socket."""

    def __init__(self, workdir: Path, group: TargetGroup, servers: list[Server]) -> None:
        binary = shutil.which("haproxy")
        if binary is None:
            raise FileNotFoundError("haproxy")
        self.group = group
        self.servers = servers
        self.socket_path = workdir / "haproxy.sock"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = workdir / "haproxy.cfg"
        self.config_path.write_text(render_config(group, servers, frontend_port=self.port, socket_path=self.socket_path))
        check = subprocess.run([binary, "-c", "-f", str(self.config_path)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy -c rejected the config:\n{check.stdout}{check.stderr}")
        self.log_path = workdir / "haproxy.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen([binary, "-db", "-f", str(self.config_path)], stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while True:
            try:
                self.command("show info")
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"haproxy did not start: {self.log_path.read_text()[-2000:]}")
                time.sleep(0.1)

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.socket_path))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def states(self) -> dict[str, str]:
        """``{server: status}`` of the checked primaries ("UP", "DOWN", "UP 1/2", ...)."""
        rows = csv.DictReader(io.StringIO(self.command("show stat").lstrip("# ")))
        return {r["svname"]: r["status"] for r in rows
                if r["pxname"] == BACKEND and r["svname"] in {s.name for s in self.servers}}

    def deregister(self, name: str, delay: float | None = None) -> float:
        """What the ALB does when the group deregisters a target (scale-in, instance
        refresh, replacement): no new requests (drain); in-flight ones may finish for up
        to ``deregistration_delay`` seconds, and with none left the deregistration
        completes at once (AWS documents both); then the rest are cut (maint). Returns
        the seconds it took."""
        delay = self.group.deregistration_delay if delay is None else delay
        start = time.monotonic()
        names = (name, f"{name}-failopen")
        for server in names:
            self.command(f"set server {BACKEND}/{server} state drain")
        while time.monotonic() - start < delay and self.sessions(names) > 0:
            time.sleep(0.2)
        for server in names:
            self.command(f"set server {BACKEND}/{server} state maint")
            self.command(f"shutdown sessions server {BACKEND}/{server}")
        return time.monotonic() - start

    def sessions(self, names) -> int:
        rows = csv.DictReader(io.StringIO(self.command("show stat").lstrip("# ")))
        return sum(int(r["scur"] or 0) for r in rows if r["pxname"] == BACKEND and r["svname"] in names)

    def stop(self) -> None:
        stop_process(self.process)


class StateLog:
    """Polls ``show stat`` every ``period`` seconds and keeps each server's transitions
    between "in rotation" (status UP, including "UP 1/2" while failing checks) and out."""

    def __init__(self, haproxy: HAProxy, period: float = 0.25) -> None:
        self.haproxy = haproxy
        self.period = period
        self.transitions: dict[str, list[tuple[float, bool]]] = {s.name: [] for s in haproxy.servers}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="haproxy-states", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                states = self.haproxy.states()
            except OSError:
                states = {}
            now = time.monotonic()
            for name, status in states.items():
                up = status.startswith("UP")
                history = self.transitions[name]
                if not history or history[-1][1] != up:
                    history.append((now, up))
            self._stop.wait(self.period)

    def in_rotation(self, name: str) -> bool | None:
        history = self.transitions[name]
        return history[-1][1] if history else None

    def first_change(self, name: str, up: bool, after: float) -> float | None:
        """When ``name`` first became ``up`` (True) / out of rotation (False) after ``after``."""
        return next((t for t, state in self.transitions[name] if state == up and t >= after), None)

    def wait(self, name: str, up: bool, after: float, within: float) -> float | None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            at = self.first_change(name, up, after)
            if at is not None:
                return at
            time.sleep(0.1)
        return None

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
