"""Configurations every bootstrap test runs over, and helpers to put rendered files on disk.

(Imported by name: pytest puts this folder on ``sys.path``.)
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import threading
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import pytest

from constructs_substrate.bootstrap import Bootstrap
from constructs_substrate.bootstrap.templating import shell_assignments
from constructs_substrate.bootstrap.env import bootstrap_env
from constructs_substrate.chains import Chain, ChainSpecSource, DbSizes
from constructs_substrate.config import NodeConfig, TelemetryServerConfig, TlsConfig
from constructs_substrate.release import Artifact, BinaryRelease

TELEMETRY_IMAGES = TelemetryServerConfig(
    backend_image="docker.io/parity/substrate-telemetry-backend:v1@sha256:" + "a" * 64,
    frontend_image="docker.io/parity/substrate-telemetry-frontend:v1@sha256:" + "b" * 64,
)


def custom_chain(version: str = "v1.0.0", sha256: str = "0" * 64, spec_sha256: str = "1" * 64) -> Chain:
    """A network of one's own: one binary pinned by SHA-256, and a chain spec."""
    return Chain(
        name="mychain",
        chain_id="mychain",
        release=BinaryRelease(
            version=version,
            artifacts=(Artifact(name="mynode", url=f"https://downloads.example.com/{version}/mynode", sha256=sha256),),
        ),
        db_size_gib=DbSizes(pruned=10, archive=50),
        chain_spec=ChainSpecSource(url="https://downloads.example.com/mychain.json", sha256=spec_sha256),
    )


CONFIGS: dict[str, Callable[[], NodeConfig]] = {
    "validator": lambda: NodeConfig(role="validator", name="val-1"),
    "rpc": lambda: NodeConfig(role="rpc", name="rpc-1", telemetry_url="wss://telemetry.example.com/submit"),
    "archive": lambda: NodeConfig(role="archive", name="archive-1"),
    "bootnode": lambda: NodeConfig(role="bootnode", name="boot-1"),
    "telemetry": lambda: NodeConfig(
        role="telemetry", name="telemetry-1", telemetry_server=TELEMETRY_IMAGES,
        tls=TlsConfig(domain="telemetry.example.com", email="ops@example.com"),
    ),
    "parachain-rpc": lambda: NodeConfig(role="rpc", name="ah-rpc-1", chain="asset-hub-polkadot"),
    "tls-http01": lambda: NodeConfig(
        role="rpc", name="rpc-tls-1", tls=TlsConfig(domain="rpc.example.com", email="ops@example.com"),
    ),
    "tls-dns01": lambda: NodeConfig(
        role="archive", name="archive-tls-1",
        tls=TlsConfig(domain="archive.example.com", email="ops@example.com", challenge="dns-01", hosted_zone_id="Z0123456789"),
    ),
    "custom-chain": lambda: NodeConfig(role="rpc", name="my-rpc-1", chain=custom_chain()),
}


def write_tree(bootstrap: Bootstrap, root: Path) -> None:
    """Every rendered file at its path under ``root``, with its mode."""
    for item in bootstrap.files:
        target = root / item.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(item.content)
        target.chmod(int(item.mode, 8))


def write_executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def write_env(config: NodeConfig, path: Path, **overrides: object) -> Path:
    """The node's real bootstrap.env with some values (directories) replaced."""
    env = {**bootstrap_env(config), **overrides}
    path.write_text(shell_assignments(env))
    return path


def script(bootstrap: Bootstrap, path: str, directory: Path) -> Path:
    """Write one rendered script to ``directory`` and return its path."""
    return write_executable(directory / Path(path).name, bootstrap.file(path).content)


def require(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.fail(f"{tool} is not installed: these tests need it (see the brief, section 6)")
    return found


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 (loopback HTTPS servers): cert and key paths."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [require("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


@contextmanager
def loopback_server(handler: type):
    """An HTTP server on 127.0.0.1 (a free port) answering with ``handler``; yields the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def path_with(directory: Path) -> dict[str, str]:
    """The environment with ``directory`` first on PATH (where the tests' fakes live)."""
    return {**os.environ, "PATH": f"{directory}:{os.environ['PATH']}"}
