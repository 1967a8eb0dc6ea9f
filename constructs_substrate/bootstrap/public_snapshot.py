"""Restores a chain database from a snapshot in the layout of Parity's public snapshot
service (snapshots.polkadot.io), as Parity's helm chart ``node`` reads it (method
``http-filelist``):

- ``<base>/latest_version.meta.txt``: the name of the newest snapshot (e.g.
  ``20260316-011637``); a base that already ends in a snapshot name is used as is;
- ``<base>/<name>/files.txt``: one database file per line, relative to the database
  directory (``chains/<spec id>/db`` for RocksDB, ``.../paritydb`` for ParityDB), e.g.
  ``full/000187.sst``; names only, no sizes or checksums;
- ``<base>/<name>/<file>``: the files, served with ranges.

Stdlib only (runs on the instance with the system ``python3``). The files download in
parallel into a work directory beside the data (``.part`` until complete); an
interrupted restore resumes with HTTP ranges and fetches only what is missing. Every
file is verified: its byte count against the length the server announced (stable over
resumes), and its SHA-256 when the snapshot publishes ``files.sha256`` (``sha256sum``
format; Parity's does not). Only a complete, verified tree is moved into place, with
one rename, and the completion marker is written last: the node never sees a partial
database.

Exit status: 0 restored; 3 the source is unavailable (no pointer, no file list: the
caller falls back to syncing); 1 anything else (a file failed verification, the disk).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import http.client
import json
import os
import re
import shutil
import sys
import threading
import time
import urllib.parse

POINTER = "latest_version.meta.txt"
FILE_LIST = "files.txt"
CHECKSUMS = "files.sha256"
CHUNK = 1 << 20
TIMEOUT = 60
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*(/[A-Za-z0-9_][A-Za-z0-9_.+-]*)*$")
_SNAPSHOT_NAME = re.compile(r"^\d{8}-\d{6}$")


class Unavailable(Exception):
    """The source cannot be used at all (the caller falls back to another source)."""


class Refused(Exception):
    """A file or the list failed verification."""


def log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(f"{stamp} public-snapshot: {message}", file=sys.stderr, flush=True)


def _connect(url: str):
    parts = urllib.parse.urlsplit(url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    path = parts.path or "/"
    return cls(parts.netloc, timeout=TIMEOUT), path + ("?" + parts.query if parts.query else "")


def get_text(url: str, limit: int = 64 << 20) -> str | None:
    """The body of a small document; None on 404; Unavailable on anything else."""
    try:
        conn, path = _connect(url)
        conn.request("GET", path, headers={"Accept-Encoding": "identity"})
        response = conn.getresponse()
        body = response.read(limit + 1)
        conn.close()
    except (OSError, http.client.HTTPException) as error:
        raise Unavailable(f"{url}: {error}") from error
    if response.status == 404:
        return None
    if response.status != 200 or len(body) > limit:
        raise Unavailable(f"{url}: HTTP {response.status}")
    return body.decode("utf-8")


def resolve(base: str) -> str:
    """The URL of the snapshot to restore: the base's newest, or the base itself when it
    names a snapshot (or has no pointer, as the helm chart does)."""
    base = base.rstrip("/")
    if _SNAPSHOT_NAME.match(base.rsplit("/", 1)[-1]):
        return base
    latest = get_text(f"{base}/{POINTER}")
    if latest is None:
        log(f"no {POINTER} at {base}; using the base as the snapshot")
        return base
    latest = latest.strip()
    if not _NAME.match(latest):
        raise Unavailable(f"{base}/{POINTER} holds {latest[:80]!r}, not a snapshot name")
    return f"{base}/{latest}"


def file_list(snapshot: str) -> tuple[list[str], dict[str, str]]:
    """The database files and their published SHA-256 (empty when none is published)."""
    text = get_text(f"{snapshot}/{FILE_LIST}")
    if text is None:
        raise Unavailable(f"{snapshot}/{FILE_LIST} not found")
    names = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(("#", ";"))]
    bad = [name for name in names if not _PATH.match(name) or ".." in name.split("/") or name.endswith(".part")]
    if not names:
        raise Refused(f"{snapshot}/{FILE_LIST} lists no files")
    if bad:
        raise Refused(f"{snapshot}/{FILE_LIST} lists unsafe names: " + ", ".join(bad[:3]))
    if len(set(names)) != len(names):
        raise Refused(f"{snapshot}/{FILE_LIST} lists a file twice")
    sums: dict[str, str] = {}
    text = get_text(f"{snapshot}/{CHECKSUMS}")
    for line in (text or "").splitlines():
        if line.strip():
            digest, _, name = line.strip().partition("  ")
            sums[name.lstrip("*")] = digest.lower()
    unknown = set(sums) - set(names)
    if unknown:
        raise Refused(f"{snapshot}/{CHECKSUMS} names files not in {FILE_LIST}: " + ", ".join(sorted(unknown)[:3]))
    return names, sums


class Download:
    """One file: resumed from its ``.part``, verified, then renamed to its name."""

    def __init__(self, snapshot: str, tree: str, name: str, sha256: str | None, retries: int, counter):
        self.url = f"{snapshot}/{urllib.parse.quote(name)}"
        self.final = os.path.join(tree, name)
        self.part = self.final + ".part"
        self.name = name
        self.sha256 = sha256
        self.retries = retries
        self.counter = counter
        self.expected: int | None = None
        self.digest = None  # SHA-256 of the part's first ``hashed`` bytes, kept while streaming
        self.hashed = 0

    def run(self) -> int:
        if os.path.exists(self.final):
            return 0  # verified and renamed by an earlier run
        os.makedirs(os.path.dirname(self.final), exist_ok=True)
        for attempt in range(self.retries + 1):
            try:
                self._fetch()
                break
            except (OSError, http.client.HTTPException) as error:
                if attempt == self.retries:
                    raise Refused(f"{self.name}: incomplete after {attempt + 1} attempts ({error})") from error
                time.sleep(min(2 ** attempt, 30) * 0.5)  # 0.5 s, 1 s, 2 s ... 15 s
        size = os.path.getsize(self.part)
        if self.sha256 is not None and self._digest(size).hexdigest() != self.sha256:
            os.remove(self.part)
            raise Refused(f"{self.name}: SHA-256 mismatch (deleted; the next run downloads it again)")
        os.replace(self.part, self.final)
        return size

    def _fetch(self) -> None:
        have = os.path.getsize(self.part) if os.path.exists(self.part) else 0
        conn, path = _connect(self.url)
        headers = {"Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            if response.status == 416 and have:  # nothing left: check what we have
                total = _content_range_total(response.getheader("Content-Range", ""))
                response.read()
                self._check_total(total, have)
                return
            if response.status == 200:
                have = 0
                total = _int(response.getheader("Content-Length"))
            elif response.status == 206:
                start, total = _content_range(response.getheader("Content-Range", ""))
                if start != have:
                    raise Refused(f"{self.name}: asked for bytes from {have}, got {start}")
            else:
                raise Refused(f"{self.name}: HTTP {response.status}")
            self._check_total(total, None)
            digest = self._digest(have) if self.sha256 is not None else None
            with open(self.part, "r+b" if have else "wb") as out:
                out.seek(have)
                out.truncate()
                while True:
                    block = response.read(CHUNK)
                    if not block:
                        break
                    out.write(block)
                    if digest is not None:
                        digest.update(block)
                        self.hashed += len(block)
                    have += len(block)
                    self.counter(len(block))
                out.flush()
                os.fsync(out.fileno())
            if have != self.expected:
                raise http.client.IncompleteRead(b"", (self.expected or 0) - have)
        finally:
            conn.close()

    def _digest(self, have: int):
        """The SHA-256 object over the part's first ``have`` bytes: the one kept while
        streaming, or (resumed by another run, or restarted) read from the disk."""
        if self.digest is None or self.hashed != have:
            self.digest, self.hashed = hashlib.sha256(), 0
            if have:
                with open(self.part, "rb") as source:
                    while self.hashed < have and (block := source.read(min(CHUNK, have - self.hashed))):
                        self.digest.update(block)
                        self.hashed += len(block)
        return self.digest

    def _check_total(self, total: int | None, have: int | None) -> None:
        if total is None:
            raise Refused(f"{self.name}: the server announced no length; cannot verify it")
        if self.expected is not None and total != self.expected:
            raise Refused(f"{self.name}: length changed from {self.expected} to {total} between requests")
        self.expected = total
        if have is not None and have != total:
            os.remove(self.part)
            raise Refused(f"{self.name}: partial file of {have} bytes is longer than the file ({total}); deleted")


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _content_range(value: str) -> tuple[int, int | None]:
    match = re.match(r"^bytes (\d+)-\d+/(\d+|\*)$", value.strip())
    if not match:
        raise Refused(f"unusable Content-Range {value!r}")
    return int(match.group(1)), _int(match.group(2))


def _content_range_total(value: str) -> int | None:
    match = re.match(r"^bytes \*/(\d+)$", value.strip())
    return int(match.group(1)) if match else None


def sha256_file(path: str) -> str:
    """Lowercase hex SHA-256 of a file (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while block := source.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _write_marker(marker: str, record: dict) -> None:
    tmp = marker + ".tmp"
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(record, out, sort_keys=True)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, marker)
    _fsync_dir(os.path.dirname(marker) or ".")


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def restore(base: str, dest: str, work: str, marker: str, *, connections: int = 16, retries: int = 6) -> dict:
    """Downloads the newest snapshot under ``base`` into ``dest`` (which must not hold a
    database), then writes ``marker``. Returns what the marker records."""
    if os.path.isdir(dest) and os.listdir(dest):
        raise Refused(f"{dest} already holds a database; refusing to overwrite it")
    snapshot = resolve(base)
    names, sums = file_list(snapshot)
    checks = "SHA-256 of every file published" if sums else "no checksums published: verifying lengths only"
    log(f"restoring {snapshot}: {len(names)} files, {checks}")
    stamp = os.path.join(work, "snapshot")
    previous = open(stamp, encoding="utf-8").read().strip() if os.path.exists(stamp) else None
    if previous != snapshot:
        if previous is not None:
            log(f"the partial restore was of {previous}; starting over")
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        with open(stamp, "w", encoding="utf-8") as out:
            out.write(snapshot + "\n")
    tree = os.path.join(work, "tree")
    lock = threading.Lock()
    received = [0]

    def count(n: int) -> None:
        with lock:
            received[0] += n

    started = time.monotonic()
    downloads = [Download(snapshot, tree, name, sums.get(name), retries, count) for name in names]
    failures = []
    total = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, connections)) as pool:
        for download, future in [(d, pool.submit(d.run)) for d in downloads]:
            try:
                total += future.result()
            except (Refused, OSError) as error:
                failures.append(str(error))
    if failures:
        for failure in failures[:20]:
            log(f"refused: {failure}")
        raise Refused(f"{len(failures)} of {len(names)} files failed; the database was not moved into place")
    seconds = time.monotonic() - started
    os.makedirs(os.path.dirname(dest.rstrip("/")), exist_ok=True)
    if os.path.isdir(dest):
        os.rmdir(dest)
    os.rename(tree, dest)
    _fsync_dir(os.path.dirname(dest.rstrip("/")))
    shutil.rmtree(work, ignore_errors=True)
    record = {"source": "public", "snapshot": snapshot, "files": len(names), "bytes_downloaded": received[0],
              "verified": "sha256" if sums else "length"}
    _write_marker(marker, record)
    log(f"restored {len(names)} files into {dest}: {received[0] / 1e6:.0f} MB downloaded in {seconds:.0f} s")
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Restores a chain database from a public snapshot.")
    parser.add_argument("--url", required=True, help="snapshot base URL (or one snapshot's URL)")
    parser.add_argument("--dest", required=True, help="database directory, e.g. /data/chains/polkadot/db")
    parser.add_argument("--work", required=True, help="work directory on the same file system")
    parser.add_argument("--marker", required=True, help="completion marker, written last")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--retries", type=int, default=6)
    args = parser.parse_args(argv)
    try:
        restore(args.url, args.dest, args.work, args.marker, connections=args.connections, retries=args.retries)
    except Unavailable as error:
        log(f"source unavailable: {error}")
        return 3
    except (Refused, OSError) as error:
        log(f"failed: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
