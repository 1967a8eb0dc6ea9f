"""install-binaries.sh with the REAL curl against a local HTTPS server that fails.

The server (loopback, a dynamic port, a throwaway self-signed certificate that curl
trusts through ``CURL_CA_BUNDLE``) answers the first requests with a 503 or by
resetting the connection, then serves the file. The script's production flags
(``--proto =https``, retries with exponential backoff, ``--retry-max-time``) are what
is exercised; only the retry count and time budget come from the test's env file.
"""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
import struct
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from bootstrap_support import require, script, self_signed_certificate, write_env

from constructs_substrate.bootstrap import paths, render_bootstrap
from constructs_substrate.chains import Chain, DbSizes
from constructs_substrate.config import NodeConfig
from constructs_substrate.release import Artifact, BinaryRelease

NODE = b"#!/bin/sh\necho node\n"


class FlakyServer:
    """HTTPS on 127.0.0.1: the first ``failures`` requests fail (by kind, in turn),
    the rest get ``content``. ``failures=None``: every request answers 503."""

    def __init__(self, cert: Path, key: Path, content: bytes, failures: list[str] | None):
        self.content, self.failures = content, failures
        self.requests: list[tuple[float, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                index = len(server.requests)
                server.requests.append((time.monotonic(), self.path))
                kind = "503" if server.failures is None else (server.failures[index] if index < len(server.failures) else "ok")
                if kind == "reset":  # RST instead of an answer
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    return
                status, body = (200, server.content) if kind == "ok" else (503, b"busy\n")
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "FlakyServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def install(tmp_path: Path, server: FlakyServer, cert: Path, *, retries: int, max_time: int) -> tuple[subprocess.CompletedProcess, float]:
    url = f"{server.url}/v1/node"
    chain = Chain(
        name="retrychain", chain_id="dev", db_size_gib=DbSizes(pruned=10, archive=20),
        release=BinaryRelease(version="v1", artifacts=(Artifact(name="node", url=url, sha256=hashlib.sha256(NODE).hexdigest()),)),
    )
    config = NodeConfig(role="rpc", name="rpc-1", chain=chain)
    env_file = write_env(
        config, tmp_path / "bootstrap.env",
        RELEASES_DIR=str(tmp_path / "opt/releases"), CURRENT_RELEASE=str(tmp_path / "opt/current"),
        BIN_DIR=str(tmp_path / "bin"), CHAIN_SPEC_FILE=str(tmp_path / "chain-spec.json"),
        DOWNLOAD_RETRIES=retries, DOWNLOAD_RETRY_MAX_TIME=max_time,
    )
    installer = script(render_bootstrap(config), paths.INSTALL_SCRIPT, tmp_path / "scripts")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env |= {"CURL_CA_BUNDLE": str(cert), "SSL_CERT_FILE": str(cert)}
    started = time.monotonic()
    result = subprocess.run([str(installer), str(env_file)], env=env, capture_output=True, text=True, timeout=120)
    return result, time.monotonic() - started


def test_transient_failures_are_retried_with_backoff_and_the_install_succeeds(tmp_path, certificate):
    require("curl")
    cert, key = certificate
    failures = ["503", "reset", "503"]
    with FlakyServer(cert, key, NODE, failures) as server:
        result, elapsed = install(tmp_path, server, cert, retries=4, max_time=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "opt/releases/v1/node").read_bytes() == NODE
    assert len(server.requests) == len(failures) + 1
    gaps = [round(b[0] - a[0], 1) for a, b in zip(server.requests, server.requests[1:])]
    print(f"\nrequests: {len(server.requests)}, gaps between attempts (s): {gaps}, install: {elapsed:.1f} s")
    # curl's backoff without --retry-delay: 1 s, then doubling (2 s, 4 s).
    assert gaps[0] >= 0.9 and gaps[1] >= 1.9 and gaps[2] >= 3.9, gaps


def test_a_permanent_failure_fails_in_bounded_time_with_a_clear_message(tmp_path, certificate):
    require("curl")
    cert, key = certificate
    with FlakyServer(cert, key, NODE, failures=None) as server:
        result, elapsed = install(tmp_path, server, cert, retries=3, max_time=5)
    print(f"\nrequests: {len(server.requests)}, failed after {elapsed:.1f} s")
    assert result.returncode != 0
    assert f"download failed after 4 attempts: {server.url}/v1/node" in result.stderr
    assert "503" in result.stderr  # curl's own reason, from --show-error
    # Bounded by the retry count and --retry-max-time (curl checks the budget before
    # each wait, so the last wait may end past it): 1 + 2 + 4 s of backoff here.
    assert len(server.requests) == 4 and elapsed < 20, (len(server.requests), elapsed)
    assert not (tmp_path / "opt/current").exists()
