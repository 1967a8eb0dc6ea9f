"""Restore speed of a public snapshot: our downloader against rclone, on loopback.

    .venv/bin/python benchmarks/snapshot_restore_bench.py               # ~2 GB, 16 connections
    .venv/bin/python benchmarks/snapshot_restore_bench.py --size-gb 8 --connections 10

Generates a RocksDB-like database (random SST files, see ``public_layout.py``) in the
layout of Parity's public snapshot service, serves it from a threaded HTTP server on
127.0.0.1 (``sendfile``), and restores it in one run with:

- ``ours (SHA-256)``: ``public_snapshot.py`` as the user data ships it (compacted), run
  by the system ``python3``, the snapshot publishing ``files.sha256`` (every file hashed);
- ``ours (length only)``: the same without ``files.sha256``, i.e. what Parity's layout
  allows (lengths are still checked);
- ``rclone``: the command Parity's helm chart ``node`` runs for ``http-filelist``
  (``rclone copyurl .../files.txt`` then ``rclone copy --http-url ... --files-from``,
  ``--no-traverse --http-no-head --disable-http2 --size-only --no-gzip-encoding``, the
  same number of transfers; ``--inplace`` only where the installed rclone has it).

For each: MB/s and CPU seconds (user + system of the client process) of a full restore,
then an interrupted restore (the server stops sending after half of the bytes, the
client gives up) resumed to completion: the resume's time and the bytes it downloaded
again. Not a test: no assertion on speed; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from public_layout import BASE, BLOCK, SNAPSHOT, SnapshotServer, generate

from constructs_substrate.bootstrap.cluster_extension import public_snapshot_source


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(command: list[str]) -> tuple[int, float, float, str]:
    """Exit status, wall seconds, CPU seconds of ``command``."""
    cpu, start = children_cpu(), time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True)
    return result.returncode, time.monotonic() - start, children_cpu() - cpu, result.stderr[-2000:]


class Ours:
    def __init__(self, script: Path, connections: int, name: str):
        self.script, self.connections, self.name = script, connections, name

    def command(self, url: str, dest: Path, *, retries: int) -> list[list[str]]:
        return [["python3", str(self.script), "--url", url, "--dest", str(dest / "chains/polkadot/db"),
                 "--work", str(dest / ".restore"), "--marker", str(dest / ".snapshot-restored"),
                 "--connections", str(self.connections), "--retries", str(retries)]]


class Rclone:
    name = "rclone"

    def __init__(self, connections: int):
        self.connections = connections
        flags = subprocess.run(["rclone", "help", "flags"], capture_output=True, text=True).stdout
        self.inplace = ["--inplace"] if "--inplace" in flags else []
        self.version = subprocess.run(["rclone", "version"], capture_output=True, text=True).stdout.split("\n")[0]

    def command(self, url: str, dest: Path, *, retries: int) -> list[list[str]]:
        snapshot = f"{url}/{SNAPSHOT}"  # the chart reads latest_version.meta.txt first; one small GET
        target = dest / "chains/polkadot/db"
        tries = ["--retries", str(max(1, retries)), "--low-level-retries", "1" if retries == 0 else "10",
                 "--retries-sleep", "1s"]
        return [
            ["rclone", "copyurl", "--no-gzip-encoding", f"{snapshot}/files.txt", str(dest / "files.txt")],
            ["rclone", "copy", "--transfers", str(self.connections), *tries, *self.inplace,
             "--no-gzip-encoding", "--http-url", snapshot, "--no-traverse", "--http-no-head",
             "--disable-http2", "--size-only", "--files-from", str(dest / "files.txt"), ":http:", str(target)],
        ]


def restore(tool, server: SnapshotServer, dest: Path, *, retries: int) -> tuple[bool, float, float, int, str]:
    """Runs the tool's commands: ok, wall s, CPU s, bytes served."""
    served, wall, cpu = server.bytes_served, 0.0, 0.0
    for command in tool.command(f"{server.url}/{BASE}", dest, retries=retries):
        status, seconds, used, stderr = run(command)
        wall, cpu = wall + seconds, cpu + used
        if status != 0:
            return False, wall, cpu, server.bytes_served - served, stderr
    return True, wall, cpu, server.bytes_served - served, ""


def damaged(dest: Path, source: Path, sizes: dict[str, int]) -> int:
    """Files of the restored database that are missing or differ from the source."""
    bad = 0
    for name, size in sizes.items():
        got = dest / "chains/polkadot/db" / name
        if not got.is_file() or got.stat().st_size != size or (size < BLOCK and got.read_bytes() != (source / name).read_bytes()):
            bad += 1
    return bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gb", type=float, default=2.0, help="database size (default 2)")
    parser.add_argument("--file-mb", type=int, default=64, help="SST file size (default 64, RocksDB's default target)")
    parser.add_argument("--connections", type=int, default=16, help="parallel transfers for every tool (default 16)")
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: a temporary one)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="snapshot-bench-", dir=args.dir))
    try:
        root = work / "www"
        started = time.monotonic()
        sizes = generate(root, int(args.size_gb * 1e9), file_bytes=args.file_mb << 20)
        total = sum(sizes.values())
        source = root / BASE / SNAPSHOT
        print(f"generated {len(sizes)} files, {total / 1e6:.0f} MB in {time.monotonic() - started:.0f} s", file=sys.stderr)
        script = work / "public_snapshot.py"
        script.write_text(public_snapshot_source())
        rclone = Rclone(args.connections)
        tools = [Ours(script, args.connections, "ours (SHA-256)"), Ours(script, args.connections, "ours (length only)"),
                 rclone]
        rows = []
        with SnapshotServer(root) as server:
            for tool in tools:
                sums = source / "files.sha256"
                if tool.name == "ours (length only)":
                    sums.rename(work / "files.sha256")
                elif not sums.exists():
                    (work / "files.sha256").rename(sums)
                dest = work / "restore"
                shutil.rmtree(dest, ignore_errors=True)
                dest.mkdir()
                ok, wall, cpu, served, err = restore(tool, server, dest, retries=6)
                if not ok or damaged(dest, source, sizes):
                    raise SystemExit(f"{tool.name} failed: {err}")
                shutil.rmtree(dest)
                dest.mkdir()
                server.faults.budget = server.bytes_served + total // 2
                ok1, wall1, cpu1, served1, _ = restore(tool, server, dest, retries=0)
                server.faults.budget = None
                ok2, wall2, cpu2, served2, err = restore(tool, server, dest, retries=6)
                # An interrupted run must fail; whatever the exit statuses say, count the files
                # that are wrong after the resume (a tool may accept a cut-off body as complete).
                bad = damaged(dest, source, sizes)
                outcome = ("complete" if ok2 and not bad else f"{bad} files wrong") + (
                    "; the interrupted run exited 0" if ok1 else "")
                shutil.rmtree(dest)
                rows.append((tool.name, total / wall / 1e6, wall, cpu, wall1, wall2, served1, served2, outcome))
                print(f"{tool.name}: {total / wall / 1e6:.0f} MB/s", file=sys.stderr)
        print(f"\n{len(sizes)} files, {total / 1e6:.0f} MB (interrupted after {total / 2e6:.0f} MB), "
              f"{args.connections} connections, loopback, "
              f"{os.cpu_count()} CPUs; {rclone.version}{'' if rclone.inplace else ' (no --inplace)'}\n")
        print("| tool | MB/s | restore s | client CPU s | interrupted at ½: first run s | resume s | "
              "resume downloaded (MB) | database after the resume |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for name, rate, wall, cpu, wall1, wall2, served1, served2, outcome in rows:
            print(f"| {name} | {rate:.0f} | {wall:.1f} | {cpu:.1f} | {wall1:.1f} | {wall2:.1f} | {served2 / 1e6:.0f} "
                  f"| {outcome} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
