"""A generated chain database in the layout of Parity's public snapshot service, and a
loopback HTTP server for it, shared by the restore tests (``tests/snapshots/``) and
the benchmark (``benchmarks/snapshot_restore_bench.py``).

Layout (as Parity's helm chart ``node`` reads it, method ``http-filelist``)::

    <root>/<base>/latest_version.meta.txt      -> "<snapshot>"
    <root>/<base>/<snapshot>/files.txt         -> "full/000001.sst" ... one per line
    <root>/<base>/<snapshot>/files.sha256      -> optional, sha256sum format (ours)
    <root>/<base>/<snapshot>/full/...          -> the database files

The server answers GET with ``Range: bytes=N-`` (206) and counts the body bytes it
sent. Faults: ``truncate`` (files whose body stops halfway, the length announced in
full, every time), ``budget`` (bytes served in total before every further body is cut
off: an interrupted restore) and ``down`` (503 for everything).
"""

from __future__ import annotations

import http.server
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from constructs_substrate.bootstrap.public_snapshot import sha256_file

SNAPSHOT = "20261202-120000"
BASE = "polkadot-rocksdb-prune"
BLOCK = 1 << 20


def generate(root: Path, total_bytes: int, *, file_bytes: int = 64 << 20, checksums: bool = True,
             base: str = BASE, snapshot: str = SNAPSHOT) -> dict[str, int]:
    """Writes a RocksDB-like database of about ``total_bytes`` (SST files of
    ``file_bytes`` with random content, plus the small files a RocksDB holds, one of them
    empty) in the public layout; returns ``{relative path: size}``."""
    directory = root / base / snapshot
    (directory / "full").mkdir(parents=True, exist_ok=True)
    (root / base / "latest_version.meta.txt").write_text(snapshot + "\n")
    sizes: dict[str, int] = {}
    small = {"full/CURRENT": b"MANIFEST-000005\n", "full/IDENTITY": os.urandom(36).hex().encode(),
             "full/MANIFEST-000005": os.urandom(4096), "full/OPTIONS-000007": b"[Version]\n" * 300,
             "full/LOCK": b""}
    for name, data in small.items():
        (directory / name).write_bytes(data)
        sizes[name] = len(data)
    count = max(1, total_bytes // file_bytes)
    for index in range(count):
        name = f"full/{index + 10:06d}.sst"
        size = file_bytes - (index % 7) * 4096  # not all alike
        with open(directory / name, "wb") as out:
            left = size
            while left:
                block = os.urandom(min(BLOCK, left))
                out.write(block)
                left -= len(block)
        sizes[name] = size
    (directory / "files.txt").write_text("".join(f"{name}\n" for name in sizes))
    if checksums:
        (directory / "files.sha256").write_text(
            "".join(f"{sha256_file(str(directory / name))}  {name}\n" for name in sizes)
        )
    return sizes


@dataclass
class Faults:
    truncate: set[str] = field(default_factory=set)
    budget: int | None = None
    down: bool = False


class SnapshotServer(http.server.ThreadingHTTPServer):
    """Serves ``root`` on 127.0.0.1 (an ephemeral port) in a thread."""

    daemon_threads = True

    def __init__(self, root: Path):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root.resolve()
        self.faults = Faults()
        self.lock = threading.Lock()
        self.bytes_served = 0
        self.requests: list[tuple[str, str | None]] = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> "SnapshotServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()

    def take(self, wanted: int) -> int:
        """How many of ``wanted`` body bytes may still be sent (the budget)."""
        with self.lock:
            if self.faults.budget is None:
                allowed = wanted
            else:
                allowed = max(0, min(wanted, self.faults.budget - self.bytes_served))
            self.bytes_served += allowed
            return allowed


class _Handler(http.server.BaseHTTPRequestHandler):
    server: SnapshotServer

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        server = self.server
        relative = self.path.split("?")[0].lstrip("/")
        with server.lock:
            server.requests.append((relative, self.headers.get("Range")))
        if server.faults.down:
            self.send_error(503)
            return
        path = (server.root / relative).resolve()
        if server.root not in path.parents or not path.is_file():
            self.send_error(404)
            return
        size = path.stat().st_size
        start = 0
        match = re.match(r"^bytes=(\d+)-$", self.headers.get("Range", ""))
        if match:
            start = int(match.group(1))
            if start >= size and size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(size - start))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        end = size
        if any(relative.endswith("/" + name) for name in server.faults.truncate):
            end = max(start, size // 2)
        with open(path, "rb") as source:
            offset = start
            while offset < end:
                allowed = server.take(min(BLOCK, end - offset))
                if not allowed:
                    break
                sent = self.connection.sendfile(source, offset, allowed)
                offset += sent
        self.close_connection = True


__all__ = ["BASE", "SNAPSHOT", "Faults", "SnapshotServer", "generate"]
