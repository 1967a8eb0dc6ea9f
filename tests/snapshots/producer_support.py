"""The snapshot producer's world on loopback: moto for EC2 and SSM (in this process,
so a test can reach its backend), ``FakeAws`` for IMDSv2 (the role's credentials, the
region, the instance the data volume is attached to), a fake node JSON-RPC, and a fake
``systemctl`` that records what it was asked. The producer runs as it ships (the
compacted ``snapshot_producer.py`` beside the compacted ``lifecycle_action.py``).

(Imported by name: pytest puts ``tests/`` on ``sys.path``.)
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from constructs_substrate import NodeConfig
from constructs_substrate.snapshots import SnapshotSourceConfig
from constructs_substrate.bootstrap.shipped import module_source
from constructs_substrate.snapshots.extension import CONFIG_FILE, PRODUCER, snapshot_extension

REGION = "eu-central-1"
"""``FakeAws``'s region."""
ACCOUNT = "123456789012"
SOURCE = "polkadot-snapshot-eu"
GENESIS = "0x91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3"


def source_config(**fields) -> SnapshotSourceConfig:
    return SnapshotSourceConfig(node=NodeConfig(role="rpc", name=SOURCE), **fields)


@dataclass
class FakeNode:
    """JSON-RPC of a node: ``system_health``, ``chain_getBlockHash``, ``chain_getHeader``."""

    best: int = 1000
    syncing: bool = False
    peers: int = 12
    server: ThreadingHTTPServer = field(init=False)

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                data = json.dumps({"jsonrpc": "2.0", "id": request["id"],
                                   "result": fake.answer(request["method"], request["params"])}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def block_hash(self, number: int) -> str:
        return GENESIS if number == 0 else "0x" + f"{number:064x}"

    def answer(self, method: str, params: list):
        if method == "system_health":
            return {"isSyncing": self.syncing, "peers": self.peers, "shouldHavePeers": True}
        if method == "chain_getBlockHash":
            return self.block_hash(params[0] if params else self.best)
        if method == "chain_getHeader":
            return {"number": hex(int(params[0], 16)), "parentHash": "0x00"}
        raise AssertionError(method)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


FAKE_SYSTEMCTL = """#!/bin/sh
# Records each call; 'show' prints the stop result the test chose.
echo "$*" >> "{log}"
case "$1" in
  show) cat "{result}" ;;
  stop) exit "$(cat "{stop_status}")" ;;
esac
"""


@dataclass
class Host:
    """The producer's files in ``root``, its config pointing at the fakes."""

    root: Path
    imds_url: str
    endpoint: str
    rpc_url: str
    config: SnapshotSourceConfig

    def __post_init__(self) -> None:
        self.log = self.root / "systemctl.log"
        self.log.write_text("")
        (self.root / "result").write_text("success\n")
        (self.root / "stop_status").write_text("0\n")
        systemctl = self.root / "systemctl"
        systemctl.write_text(FAKE_SYSTEMCTL.format(log=self.log, result=self.root / "result",
                                                   stop_status=self.root / "stop_status"))
        systemctl.chmod(0o755)
        files = {f.path: f for f in snapshot_extension(self.config, source=SOURCE).files}
        (self.root / Path(PRODUCER).name).write_text(files[PRODUCER].content)
        # Every node's boot stage ships the client (bootstrap/bundle.py), compacted too.
        (self.root / "lifecycle_action.py").write_text(module_source("constructs_substrate.cluster", "lifecycle_action.py"))
        values = json.loads(files[CONFIG_FILE].content)
        values.update(imds_url=self.imds_url, endpoint=self.endpoint, rpc_url=self.rpc_url,
                      systemctl=str(systemctl), poll_seconds=0.2, interval_seconds=0)  # tests age snapshots by hand
        self.values = values

    def run(self, **overrides) -> subprocess.CompletedProcess:
        config = self.root / "snapshot-source.json"
        config.write_text(json.dumps({**self.values, **overrides}))
        # -E -s: neither PYTHONPATH nor user site: it imports its client from its own folder.
        return subprocess.run([sys.executable, "-E", "-s", str(self.root / "snapshot_producer.py"), str(config)],
                              capture_output=True, text=True, timeout=120, cwd=self.root)

    def systemctl_calls(self) -> list[str]:
        return [line.split()[0] for line in self.log.read_text().splitlines()]


def start_moto():
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def reset_moto(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", data=b"", method="POST")
    urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=30).close()


def ec2_backend():
    from moto.backends import get_backend

    return get_backend("ec2")[ACCOUNT][REGION]
