"""A region in a box: three nodes behind a load balancer on loopback, built from what
the library synthesizes for an ``AutoscalingApiCluster``.

Per node (:class:`Node`):

- **Chopsticks** (``tests/js``) with ``--build-block-mode=Manual``; the harness's
  :class:`BlockProducer` builds one block every :data:`BLOCK_SECONDS` on every node
  (``dev_newBlock``) to emulate a live chain. Stalling a node = SIGSTOP.
- an :class:`~rpc_shim.RpcShim` in front of it (``system_syncState`` from a network tip
  the test controls; a PUBLIC port and a PRIVATE one standing for the node's rendered
  listeners, ``--experimental-rpc-endpoint`` on 0.0.0.0 and on 127.0.0.1, each with its
  own connection cap);
- the **real probe as the node gets it**: the shipped ``readiness_probe.py``
  unpacked from the bootstrap bundle, run with the ``ExecStart`` arguments
  of the rendered ``substrate-probe.service``. Only ``--rpc-url`` (to the shim port
  standing for the listener the rendered URL names) and ``--listen`` (to
  ``127.0.0.1:0``) are rewritten; every timing argument is kept.
- the liveness watcher, when the bootstrap renders one (``constructs_substrate/bootstrap/
  liveness.py``): its script and env file from the user data, pointed at this node's
  probe and at its own fake IMDS + Auto Scaling endpoint (``FakeAws`` from
  ``tests/fake_aws.py``) that records every ``SetInstanceHealth``.

In front of the three: :class:`~haproxy.HAProxy` configured from the synthesized RPC
target group (see ``haproxy.py`` for the ALB → HAProxy mapping), and :class:`Traffic`,
clients sending ``chain_getHeader`` through it continuously and recording which node
answered (``X-Box-Node``).

Scaled down on purpose, and printed with the figures: the public listener's connection
cap (:data:`BOX_MAX_CONNECTIONS` instead of the rendered ``max-connections``), and, of
the watcher's values, only its window (:data:`LIVENESS_WINDOW_SECONDS`).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from fake_aws import FakeAws

from constructs_substrate import layout
from constructs_substrate.bootstrap import paths

from .haproxy import HAProxy, Server, StateLog, TargetGroup, from_synth, stop_process
from .rpc_shim import NODE_HEADER, RpcShim

BLOCK_SECONDS = 2.0
"""The box chain's block time (Polkadot's is 6 s). Chopsticks needs ~0.5 s of CPU per
block, so three nodes at one block a second would take most of a 2-core machine."""
BOX_MAX_CONNECTIONS = 32
"""The public listener's connection cap in the box (rendered: ``max-connections=2000``
for the default cluster): the same behaviour at the cap, with 60 times fewer threads
to hold it. The private listener keeps its rendered cap (16)."""
NODES = ("n1", "n2", "n3")

PROBE_UNIT = paths.unit(layout.PROBE_SERVICE)
LIVENESS_WINDOW_SECONDS = 20
"""The only shortened timing in the box: the watcher's ``WINDOW_SECONDS`` (rendered:
``LivenessConfig.window_seconds``, 300 s by default), so the kill case fits in CI. Both
are printed; every other value of the watcher's env file is kept."""
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --------------------------------------------------------------------------- artifacts


@dataclass(frozen=True)
class Artifacts:
    """What the box takes from the synthesized stack."""

    target_group: TargetGroup
    files: dict[str, str]
    """Rendered files from the launch template's user data (``write_files``), by path."""
    probe_command: list[str]
    """The probe unit's ExecStart, split: interpreter, script, arguments."""
    node_args: list[str]

    @property
    def probe_args(self) -> list[str]:
        return self.probe_command[2:]

    def probe_option(self, name: str) -> str | None:
        args = self.probe_args
        return args[args.index(name) + 1] if name in args else None

    def node_option(self, name: str) -> str | None:
        args = self.node_args
        return args[args.index(name) + 1] if name in args else None

    def rpc_endpoints(self) -> list[dict[str, str]]:
        """The node's JSON-RPC listeners as rendered: each ``--experimental-rpc-endpoint``
        (``listen-addr=IP:PORT,key=value,...``), or the single ``--rpc-port`` listener."""
        args = self.node_args
        endpoints = [dict(item.split("=", 1) for item in args[i + 1].split(","))
                     for i, arg in enumerate(args) if arg == "--experimental-rpc-endpoint"]
        if endpoints:
            return endpoints
        listener = {"listen-addr": f"0.0.0.0:{self.node_option('--rpc-port') or 9944}"}
        if self.node_option("--rpc-max-connections"):
            listener["max-connections"] = self.node_option("--rpc-max-connections")
        return [listener]

    def rpc_endpoint(self, port: int) -> dict[str, str] | None:
        return next((e for e in self.rpc_endpoints() if int(e["listen-addr"].rsplit(":", 1)[1]) == port), None)

    @property
    def liveness_command(self) -> list[str] | None:
        """The liveness watcher unit's ExecStart (script, env file), None without one."""
        units = [p for p in self.files if p.startswith(paths.UNIT_DIR + "/") and "liveness" in p]
        return exec_start(self.files[units[0]]) if units else None

    @property
    def liveness(self) -> bool:
        return self.liveness_command is not None

    def liveness_env(self) -> dict[str, str]:
        """The watcher's rendered env file, as assignments."""
        env_path = self.liveness_command[-1]
        values = {}
        for line in self.files[env_path].splitlines():
            if "=" in line and not line.startswith("#"):
                name, value = line.split("=", 1)
                values[name] = (shlex.split(value) or [""])[0]
        return values


def exec_start(unit: str) -> list[str]:
    (line,) = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    return shlex.split(line.split("=", 1)[1])


def artifacts_from_synth(document: dict) -> Artifacts:
    from gates.synthesis import booted_files, rendered_user_data

    (text,) = [text for address, text in rendered_user_data(document) if address.startswith("aws_launch_template.")]
    # The user data's boot stage plus the bootstrap bundle it fetches (what the instance writes).
    files = dict(booted_files(document, text))
    return Artifacts(
        target_group=from_synth(document),
        files=files,
        probe_command=exec_start(files[PROBE_UNIT]),
        node_args=[line for line in files[layout.NODE_ARGS_FILE].splitlines() if line],
    )


def synthesize() -> dict:
    """An ``AutoscalingApiCluster`` with the test suite's default cluster config
    (``tests/cluster/cluster_stacks.py``: Polkadot RPC, its own ALB)."""
    from cluster.cluster_stacks import cluster_config
    from helpers import synth

    from constructs_substrate.cluster import AutoscalingApiCluster

    def build(stack) -> None:
        AutoscalingApiCluster(stack, "api", config=cluster_config(), vpc_id="vpc-0123456789abcdef0",
                              subnet_ids=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"])

    return synth(build)


# --------------------------------------------------------------------------- helpers


def http_get(url: str, timeout: float = 2.0) -> tuple[int | None, dict | str]:
    """(status, JSON body or text); status None when the server did not answer."""
    try:
        with _OPENER.open(url, timeout=timeout) as resp:
            status, data = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, data = exc.code, exc.read()
    except OSError as exc:
        return None, str(exc)
    try:
        return status, json.loads(data)
    except ValueError:
        return status, data.decode(errors="replace")


def _wait_log(path: Path, pattern: bytes, process: subprocess.Popen, within: float) -> re.Match:
    deadline = time.monotonic() + within
    while True:
        match = re.search(pattern, path.read_bytes())
        if match:
            return match
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{path.name}: {pattern!r} not logged; tail:\n{path.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)


def fake_aws():
    """A new :class:`fake_aws.FakeAws` (IMDSv2 + Auto Scaling Query API, SigV4 checked)
    answering ``SetInstanceHealth``, serving on a thread."""
    aws = FakeAws()
    aws.answer = (200, "<SetInstanceHealthResponse/>")
    threading.Thread(target=aws.server.serve_forever, daemon=True).start()
    return aws


# --------------------------------------------------------------------------- nodes


class Node:
    """Chopsticks + shim + rendered probe (+ liveness watcher) for one instance."""

    def __init__(self, name: str, chopsticks, artifacts: Artifacts, workdir: Path) -> None:
        self.name = name
        self.chopsticks = chopsticks
        self.frozen = False
        self.killed = False
        private = [e for e in artifacts.rpc_endpoints() if e["listen-addr"].startswith("127.")]
        private_cap = int(private[0].get("max-connections", 100)) if private else None
        self.shim = RpcShim(name, chopsticks, max_connections=BOX_MAX_CONNECTIONS, private_max_connections=private_cap)
        self.lock = threading.Lock()
        """Held while a block is built, so a catch-up and the producer do not interleave."""
        self.probe_rpc_url, self.probe_listener = self._probe_rpc_target(artifacts)
        self.workdir = workdir
        self.probe_args = self._rewrite(artifacts.probe_args)
        self.probe_script = workdir / "readiness_probe.py"
        self.probe_script.write_text(artifacts.files[artifacts.probe_command[1]])
        self.probe_log = workdir / "probe.log"
        with self.probe_log.open("wb") as log:
            # sys.executable stands for the unit's /usr/bin/python3 (any Python >= 3.10).
            self.probe = subprocess.Popen([sys.executable, str(self.probe_script), *self.probe_args],
                                          stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            match = _wait_log(self.probe_log, rb"serving [^\n]* on [\d.]+:(\d+) for node", self.probe, 20)
        except BaseException:
            self.probe.kill()
            self.probe.wait()
            self.shim.close()
            raise
        self.probe_port = int(match.group(1))
        self.probe_url = f"http://127.0.0.1:{self.probe_port}"
        self.liveness = None

    def _probe_rpc_target(self, artifacts: Artifacts) -> tuple[str, str]:
        """The shim port standing for the listener the rendered ``--rpc-url`` names: the
        private one when that listener is bound to loopback only, else the public one."""
        rendered = artifacts.probe_option("--rpc-url") or "http://127.0.0.1:9944"
        port = int(rendered.rsplit(":", 1)[1].split("/")[0])
        endpoint = artifacts.rpc_endpoint(port)
        if endpoint is None:
            raise AssertionError(f"the probe's --rpc-url {rendered} names no listener of the node: {artifacts.rpc_endpoints()}")
        if endpoint["listen-addr"].startswith("127."):
            return self.shim.private_url, "private"
        return self.shim.public_url, "public"

    def start_liveness(self, artifacts: Artifacts, aws) -> None:
        """The rendered watcher (script + env file), pointed at this node's probe and at
        ``aws`` (fake IMDS + Auto Scaling); only WINDOW_SECONDS is shortened."""
        self.aws = aws
        script_path, env_path = artifacts.liveness_command
        script = self.workdir / Path(script_path).name
        script.write_text(artifacts.files[script_path])
        script.chmod(0o755)
        rendered_action = artifacts.liveness_env()["ACTION_SCRIPT"]
        action = self.workdir / Path(rendered_action).name
        action.write_text(artifacts.files[rendered_action])
        overrides = {
            "PROBE_LIVE_URL": self.probe_url + "/live", "IMDS_URL": aws.url, "ENDPOINT_URL": aws.url,
            "ACTION_SCRIPT": str(action), "REPORTED_FILE": str(self.workdir / "liveness-reported"),
            "WINDOW_SECONDS": str(LIVENESS_WINDOW_SECONDS),
        }
        # Later assignments win when bash sources the file: the rendered values stay visible above.
        env = artifacts.files[env_path] + "# region in a box:\n" + "".join(
            f"{k}={shlex.quote(v)}\n" for k, v in overrides.items())
        env_file = self.workdir / "liveness.env"
        env_file.write_text(env)
        self.liveness_log = self.workdir / "liveness.log"
        self._liveness_command = [str(script), str(env_file)]
        self.liveness = self._run_liveness()

    def _run_liveness(self) -> subprocess.Popen:
        environment = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        with self.liveness_log.open("ab") as log:
            return subprocess.Popen(self._liveness_command, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=environment, start_new_session=True)

    def restart_liveness(self, timeout: float = 30) -> int:
        """Run the watcher again (what its unit's restart would do); its exit status."""
        self.liveness = self._run_liveness()
        return self.liveness.wait(timeout=timeout)

    def unhealthy_reports(self) -> list[float]:
        """Times of the SetInstanceHealth calls this node's watcher made."""
        aws = getattr(self, "aws", None)
        if aws is None:
            return []
        return [c["time"] for c in aws.calls if c["params"].get("Action") == "SetInstanceHealth"]

    def _rewrite(self, args: list[str]) -> list[str]:
        out = list(args)
        for option, value in (("--rpc-url", self.probe_rpc_url), ("--listen", "127.0.0.1:0")):
            if option in out:
                out[out.index(option) + 1] = value
            else:
                out += [option, value]
        return out

    # faults
    def stop(self) -> None:
        self.frozen = True
        os.kill(self.chopsticks.pid, signal.SIGSTOP)

    def cont(self) -> None:
        os.kill(self.chopsticks.pid, signal.SIGCONT)
        self.frozen = False

    def kill(self) -> None:
        """The node process dies: Chopsticks is killed and its RPC listeners close."""
        self.killed = True
        if self.frozen:
            self.cont()
        self.chopsticks.process.kill()
        self.chopsticks.process.wait()
        self.shim.close()

    def ready(self) -> tuple[int | None, dict | str]:
        return http_get(self.probe_url + "/ready")

    def live(self) -> tuple[int | None, dict | str]:
        return http_get(self.probe_url + "/live")

    def close(self) -> None:
        if self.liveness is not None and self.liveness.poll() is None:
            os.killpg(self.liveness.pid, signal.SIGTERM)  # the script and its sleep/curl
            self.liveness.wait(timeout=10)
        aws = getattr(self, "aws", None)
        if aws is not None:
            aws.server.shutdown()
            aws.server.server_close()
        stop_process(self.probe)
        self.shim.close()
        self.chopsticks.terminate()


class BlockProducer:
    """One thread per node: a block every :data:`BLOCK_SECONDS` while ``enabled`` (the
    chain is live) and the node is not frozen or dead. The node's network tip, when the
    test set one, advances with it (the network keeps producing too)."""

    def __init__(self, nodes: list[Node]) -> None:
        self.nodes = nodes
        self.enabled = threading.Event()
        self.enabled.set()
        self.skip: set[str] = set()
        self._done = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True, name=f"blocks-{n.name}")
                         for n in nodes]
        for thread in self._threads:
            thread.start()

    def _run(self, node: Node) -> None:
        due = time.monotonic()
        while not self._done.is_set():
            if self.enabled.is_set() and not node.frozen and not node.killed and node.name not in self.skip:
                try:
                    with node.lock:
                        node.chopsticks.new_block(timeout=BLOCK_SECONDS * 2)
                    if node.shim.tip is not None:
                        node.shim.tip += 1
                except (OSError, RuntimeError):
                    pass
            due = max(due + BLOCK_SECONDS, time.monotonic())
            self._done.wait(due - time.monotonic())

    def close(self) -> None:
        self._done.set()
        for thread in self._threads:
            thread.join(timeout=10)


@dataclass
class Response:
    sent: float
    done: float
    node: str | None
    status: int | None
    ok: bool
    """HTTP 200 with a JSON-RPC result."""


class Traffic:
    """``clients`` threads sending ``chain_getHeader`` through the load balancer in a
    loop (new connection per request, ``timeout`` seconds each)."""

    def __init__(self, url: str, clients: int = 2, pause: float = 0.1, timeout: float = 3.0) -> None:
        self.url = url
        self.pause = pause
        self.timeout = timeout
        self.responses: list[Response] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True, name=f"client-{i}") for i in range(clients)]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "chain_getHeader", "params": []}).encode()
        while not self._done.is_set():
            sent = time.monotonic()
            node = status = None
            ok = False
            request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
            try:
                with _OPENER.open(request, timeout=self.timeout) as resp:
                    status, node, data = resp.status, resp.headers.get(NODE_HEADER), resp.read()
                ok = status == 200 and "result" in json.loads(data)
            except urllib.error.HTTPError as exc:
                status, node = exc.code, exc.headers.get(NODE_HEADER)
            except (OSError, ValueError):
                pass
            with self._lock:
                self.responses.append(Response(sent, time.monotonic(), node, status, ok))
            self._done.wait(self.pause)

    def between(self, start: float, end: float | None = None) -> list[Response]:
        """Responses to requests sent in [start, end)."""
        end = float("inf") if end is None else end
        with self._lock:
            return [r for r in self.responses if start <= r.sent < end]

    def close(self) -> None:
        self._done.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 2)


class Saturator:
    """Holds ``count`` idle connections open on a node's PUBLIC port (what a connection
    flood does to ``--rpc-max-connections``)."""

    def __init__(self, node: Node, count: int) -> None:
        self.sockets = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", node.shim.public_port), timeout=5)
            self.sockets.append(sock)
        deadline = time.monotonic() + 10
        while node.shim.public_connections < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


# --------------------------------------------------------------------------- the region


@dataclass
class Figure:
    fault: str
    expected: str
    measured: str
    ok: bool | None
    """True/False where asserted; None where only measured."""


@dataclass
class Region:
    artifacts: Artifacts
    nodes: list[Node]
    haproxy: HAProxy
    states: StateLog
    producer: BlockProducer
    traffic: Traffic
    figures: list[Figure] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def in_rotation(self) -> dict[str, bool | None]:
        return {n.name: self.states.in_rotation(n.name) for n in self.nodes}

    def start_liveness(self) -> bool:
        """Start every node's rendered liveness watcher (when the user data has one).
        Started by the test when its phase begins, not at build: with the window
        shortened to :data:`LIVENESS_WINDOW_SECONDS`, a SIGSTOP held for the stall case
        would otherwise count as "wedged for minutes"."""
        if not self.artifacts.liveness:
            return False
        for node in self.nodes:
            if node.liveness is None:
                node.start_liveness(self.artifacts, fake_aws())
        return True

    def wait_all_ready(self, within: float) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if all(n.ready()[0] == 200 for n in self.nodes):
                return
            time.sleep(0.5)
        raise AssertionError(f"probes not ready within {within}s: " + ", ".join(f"{n.name}: {n.ready()}" for n in self.nodes))

    def close(self) -> None:
        for part in (self.traffic, self.producer, self.states):
            part.close()
        self.haproxy.stop()
        for node in self.nodes:
            node.close()


def build_region(workdir: Path, start_chopsticks) -> Region:
    """Start everything; returns once every probe answers 200 and HAProxy routes to all.
    On any failure, everything started so far is stopped again."""
    cleanup: list = []
    try:
        with ThreadPoolExecutor(len(NODES)) as pool:
            futures = [pool.submit(start_chopsticks, workdir / f"chopsticks-{name}.log") for name in NODES]
            try:
                artifacts = artifacts_from_synth(synthesize())  # while the nodes boot
            finally:
                for future in futures:
                    try:
                        cleanup.append(future.result().terminate)
                    except BaseException:
                        pass
            chains = [f.result() for f in futures]
        nodes: list[Node] = []
        for name, chopsticks in zip(NODES, chains):
            (workdir / name).mkdir(exist_ok=True)
            nodes.append(Node(name, chopsticks, artifacts, workdir / name))
            cleanup.append(nodes[-1].close)
        producer = BlockProducer(nodes)
        cleanup.append(producer.close)
        deadline = time.monotonic() + 90
        while not all(n.ready()[0] == 200 for n in nodes):
            if time.monotonic() > deadline:
                raise RuntimeError("probes not ready: " + "; ".join(f"{n.name} {n.ready()}" for n in nodes))
            time.sleep(0.5)
        servers = [Server(n.name, n.shim.public_port, n.probe_port) for n in nodes]
        haproxy = HAProxy(workdir, artifacts.target_group, servers)
        cleanup.append(haproxy.stop)
        states = StateLog(haproxy)
        cleanup.append(states.close)
        deadline = time.monotonic() + 15
        while not all(states.in_rotation(n.name) for n in nodes):  # HAProxy starts servers UP
            if time.monotonic() > deadline:
                raise RuntimeError(f"HAProxy does not route to every node: {haproxy.states()}")
            time.sleep(0.1)
        traffic = Traffic(haproxy.url)
        return Region(artifacts, nodes, haproxy, states, producer, traffic)
    except BaseException:
        for stop in reversed(cleanup):
            try:
                stop()
            except Exception:
                pass
        raise
