"""Fixtures that run real local servers for integration tests.

``chopsticks``: a real Substrate runtime and JSON-RPC server (Chopsticks, from
``tests/js``) built offline from the Mandala chain spec in the shared fixtures. Blocks are
only built on demand (``new_block``), and the process can be frozen (``stop``/``cont``)
to play a stalled backend. See /work/shared/fixtures/README.md for measured behaviour.

Missing tools skip the tests locally, but fail them when ``CI`` is set: CI must run them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHOPSTICKS_CJS = REPO / "tests" / "js" / "node_modules" / "@acala-network" / "chopsticks" / "chopsticks.cjs"
CHAIN_SPEC = "mandala-dist.json"
START_TIMEOUT = 60.0
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fixtures_dir() -> Path:
    """The shared test fixtures, beside the repository unless SUBSTRATE_FIXTURES_DIR says otherwise."""
    override = os.environ.get("SUBSTRATE_FIXTURES_DIR")
    return Path(override) if override else REPO / ".." / "shared" / "fixtures"


def unavailable(reason: str) -> None:
    """Skip locally; fail in CI, where a silently skipped integration test hides breakage."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"{reason} (CI is set, so integration tests must run)", pytrace=False)
    pytest.skip(reason)


class Chopsticks:
    """A running Chopsticks process. ``url`` serves JSON-RPC over HTTP and WebSocket."""

    def __init__(self, process: subprocess.Popen, port: int, log_path: Path) -> None:
        self.process = process
        self.pid = process.pid
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"
        self.log_path = log_path
        self.stopped = False

    def rpc(self, method: str, params: list | None = None, timeout: float = 10.0):
        """One JSON-RPC call over HTTP; raises RuntimeError on a JSON-RPC error."""
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        with _OPENER.open(request, timeout=timeout) as resp:
            reply = json.loads(resp.read())
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def new_block(self, count: int = 1, timeout: float | None = None) -> str:
        """Build `count` blocks (~0.5 s each; finalized at once); returns the new head hash."""
        return self.rpc("dev_newBlock", [{"count": count}], timeout=timeout or 10.0 + count)

    def best_number(self) -> int:
        return int(self.rpc("chain_getHeader")["number"], 16)

    def stop(self) -> None:
        """Freeze the process (SIGSTOP): connections are accepted but never answered."""
        os.kill(self.pid, signal.SIGSTOP)
        self.stopped = True

    def cont(self) -> None:
        os.kill(self.pid, signal.SIGCONT)
        self.stopped = False

    @contextmanager
    def paused(self):
        """Frozen inside the block, resumed on exit even if the test fails."""
        self.stop()
        try:
            yield self
        finally:
            self.cont()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def terminate(self) -> None:
        if self.process.poll() is not None:
            return
        if self.stopped:
            self.cont()  # a stopped process cannot act on SIGTERM
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_chopsticks(log_path: Path) -> Chopsticks:
    node = shutil.which("node")
    spec = fixtures_dir() / CHAIN_SPEC
    if node is None:
        unavailable("node (Node.js) is not on PATH")
    if not CHOPSTICKS_CJS.is_file():
        unavailable(f"Chopsticks is not installed ({CHOPSTICKS_CJS} missing): run `cd tests/js && npm ci`")
    if not spec.is_file():
        unavailable(f"chain spec fixture {spec} missing (set SUBSTRATE_FIXTURES_DIR)")

    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [node, str(CHOPSTICKS_CJS), f"--genesis={spec}"]
            + ["--host=127.0.0.1", "--port=0", "--build-block-mode=Manual"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + START_TIMEOUT
    port = None
    try:
        # The chosen port is only in the log (a busy port silently moves to the next one).
        while port is None:
            match = re.search(rb"RPC listening on http://127\.0\.0\.1:(\d+)", log_path.read_bytes())
            port = match and int(match.group(1))
            if port is None:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("Chopsticks did not report its RPC port")
                time.sleep(0.1)
        chopsticks = Chopsticks(process, port, log_path)
        while True:
            try:
                chopsticks.rpc("system_health", timeout=2)
                return chopsticks
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("Chopsticks did not answer system_health")
                time.sleep(0.2)
    except Exception as exc:
        process.kill()
        process.wait()
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
        message = f"{exc} within {START_TIMEOUT:g}s (exit code {process.returncode}); log tail:\n{tail}"
        pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def chopsticks(tmp_path_factory):
    """A Chopsticks node shared by the session. Tests that ``stop()`` it must ``cont()``
    it (or use ``with chopsticks.paused():``); blocks built by one test stay for the next."""
    instance = start_chopsticks(tmp_path_factory.mktemp("chopsticks") / "chopsticks.log")
    try:
        yield instance
    finally:
        instance.terminate()
