"""Synthesis cost of each example app against its floor, on each installed backend.

    .venv/bin/python benchmarks/synth_bench.py            # all apps, all backends, N=5
    .venv/bin/python benchmarks/synth_bench.py -n 3 --apps polkadot --backends cdktn
    .venv/bin/python benchmarks/synth_bench.py --node /path/to/node22   # JSII_NODE

For every app in ``apps/*.py`` (not starting with ``_``) and every installed backend
(``cdktf``, ``cdktn``; selected with CONSTRUCTS_SUBSTRATE_FRAMEWORK), each measured as
separate processes, N times, reporting medians:

  floor  a process that only imports the AWS binding submodules the app uses (found by
         running the app once and listing the provider submodules in ``sys.modules``);
         this is what any app using those resources pays, whatever this library does;
  synth  the full app: ``python apps/<app>.py`` synthesizing into a temporary directory.

Wall time is measured around the process; CPU time is user+sys of the process and
its reaped children (the jsii node processes), from wait4, and is less disturbed by
other load on the machine than wall time. Peak memory is the largest total RSS of the
process tree (Python plus the jsii ``node`` child), sampled from /proc every 10 ms.
The ratio synth/floor is what synthesis adds on top of loading the framework. N more
runs of each app import the floor modules first, then time the app in-process and
count the calls into the jsii kernel (creating each resource, reading attributes,
synthesizing) and the time spent in them, which splits the time after the floor into
framework work and the library's own (its Python, pydantic, the bindings' type
checks, writing the output). Targets (CDK Terrain): library s <= 0.4 per app, and
``python apps/polkadot.py`` <= 5.0 s wall on a quiet machine. Python standard library only; Linux only (/proc).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ROOT / "apps"
FRAMEWORK_ENV = "CONSTRUCTS_SUBSTRATE_FRAMEWORK"
AWS_PACKAGES = {"cdktf": "cdktf_cdktf_provider_aws", "cdktn": "cdktn_provider_aws"}
PAGE = os.sysconf("SC_PAGE_SIZE")
TARGET_LIBRARY_S = 0.4  # this library's own time per app: synth - floor - time inside jsii
TARGET_WALL_APP, TARGET_WALL_S = "polkadot", 5.0  # `python apps/polkadot.py` wall on CDK Terrain

# Imports the modules listed in a JSON file: the floor.
FLOOR = """
import importlib, json, sys
for name in json.load(open(sys.argv[1])):
    importlib.import_module(name)
"""

# Runs an app as __main__ and records the provider submodules it imported, and how
# many calls into the jsii kernel (create, get, invoke...) it made and their time: the
# framework's per-resource work, which the import-only floor does not include. Given a
# list of floor modules (argv[4]), imports them first and times only what follows, in
# this one process: wall and this process's CPU time (jsii's node children excluded),
# each also inside the jsii calls. Those in-process figures split the library's own
# time from the framework's without subtracting two separately measured processes.
DISCOVER = """
import importlib, json, resource, runpy, sys, time
import jsii
app, out, package = sys.argv[1:4]
for name in json.load(open(sys.argv[4])) if len(sys.argv) > 4 else ():
    importlib.import_module(name)
calls, spent, spent_cpu = [0], [0.0], [0.0]
def timed(function):
    def wrapper(*args, **kwargs):
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            calls[0] += 1
            spent[0] += time.perf_counter() - start
            spent_cpu[0] += time.process_time() - cpu
    return wrapper
for name in ("create", "get", "set", "invoke", "sinvoke", "sget", "sset"):
    setattr(jsii, name, timed(getattr(jsii, name)))
sys.argv = [app]
start, cpu = time.perf_counter(), time.process_time()
runpy.run_path(app, run_name="__main__")
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
used = sorted(m for m in sys.modules if m.startswith(package + ".") and m.count(".") == 1)
json.dump({"modules": used, "jsii_calls": calls[0], "jsii_s": spent[0], "after_floor_s": wall,
           "library_cpu_s": cpu - spent_cpu[0]}, open(out, "w"))
"""


def installed_backends() -> list[str]:
    return [
        name for name, package in AWS_PACKAGES.items()
        if importlib.util.find_spec(name) and importlib.util.find_spec(package)
    ]


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo += [int(child) for child in f.read().split()]
        except OSError:
            pass
    return pids


def _tree_rss(pid: int) -> int:
    total = 0
    for member in _tree(pid):
        try:
            with open(f"/proc/{member}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            pass
    return total


@dataclass
class Run:
    wall: float
    cpu: float
    peak_rss: int


def measure(argv: list[str], env: dict[str, str], cwd: str) -> Run:
    """Run once; wall time, CPU time (user+sys of the process and its reaped children,
    from wait4) and the peak total RSS of the process tree."""
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr)
        peak = 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _tree_rss(process.pid))
            time.sleep(0.01)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            stderr.seek(0)
            tail = stderr.read().decode(errors="replace")[-3000:]
            raise SystemExit(f"failed ({process.returncode}): {' '.join(argv)}\n{tail}")
    # ru_maxrss (KiB) is the largest single process, node children included once reaped.
    return Run(wall, usage.ru_utime + usage.ru_stime, max(peak, usage.ru_maxrss * 1024))


def median_run(runs: list[Run]) -> Run:
    return Run(
        statistics.median(r.wall for r in runs),
        statistics.median(r.cpu for r in runs),
        int(statistics.median(r.peak_rss for r in runs)),
    )


def discover(app: Path, backend: str, env: dict[str, str], runs: int) -> dict:
    """The submodules the app uses (one run), then ``runs`` runs that import them first
    and time the rest in-process; medians of the in-process figures."""
    with tempfile.TemporaryDirectory() as tmp:
        out, floor = Path(tmp) / "found.json", Path(tmp) / "floor.json"

        def run(*extra: str) -> dict:
            subprocess.run(
                [sys.executable, "-c", DISCOVER, str(app), str(out), AWS_PACKAGES[backend], *extra],
                env=env, cwd=tmp, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            return json.loads(out.read_text())

        modules = run()["modules"]
        floor.write_text(json.dumps(modules))
        found = [run(str(floor)) for _ in range(runs)]
        result = {key: statistics.median(f[key] for f in found)
                  for key in ("jsii_calls", "jsii_s", "after_floor_s", "library_cpu_s")}
        return {"modules": modules, **result}


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?"
    )
    mem = next((line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal")), "0")
    node = os.environ.get("JSII_NODE", "node")
    try:
        node_version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        node_version = "?"
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {int(mem) / 2**20:.1f} GiB RAM, Python {platform.python_version()}, "
        f"Node {node_version} ({node}), {time.strftime('%Y-%m-%d')}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--runs", type=int, default=5, help="measured runs per cell (median; default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs per cell first (default 1)")
    parser.add_argument("--apps", nargs="*", help="app names (default: every apps/*.py not starting with _)")
    parser.add_argument("--backends", nargs="*", help="cdktf and/or cdktn (default: every installed one)")
    parser.add_argument("--node", help="node binary for the jsii runtime (sets JSII_NODE)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    apps = sorted(p for p in APPS.glob("*.py") if not p.name.startswith("_"))
    if args.apps:
        apps = [APPS / f"{name.removesuffix('.py')}.py" for name in args.apps]
    backends = args.backends or installed_backends()
    env = dict(os.environ)
    if args.node:
        env["JSII_NODE"] = args.node
        os.environ["JSII_NODE"] = args.node

    print(machine(), flush=True)
    rows = []
    for app in apps:
        for backend in backends:
            cell_env = {**env, FRAMEWORK_ENV: backend}
            found = discover(app, backend, cell_env, args.runs)
            modules = found["modules"]
            with tempfile.TemporaryDirectory() as tmp:
                listing = Path(tmp) / "floor-modules.json"
                listing.write_text(json.dumps(modules or ["constructs"]))
                commands = {
                    "floor": [sys.executable, "-c", FLOOR, str(listing)],
                    "synth": [sys.executable, str(app)],
                }
                for _ in range(args.warmup):
                    for argv in commands.values():
                        measure(argv, cell_env, tmp)
                # Interleaved, so a load that comes and goes hits both kinds alike.
                runs: dict[str, list[Run]] = {kind: [] for kind in commands}
                for _ in range(args.runs):
                    for kind, argv in commands.items():
                        runs[kind].append(measure(argv, cell_env, tmp))
                results = {kind: median_run(measured) for kind, measured in runs.items()}
            floor, synth = results["floor"], results["synth"]
            rows.append({
                "app": app.stem, "backend": backend, "submodules": len(modules),
                "floor_s": floor.wall, "synth_s": synth.wall, "ratio": synth.wall / floor.wall,
                "floor_cpu_s": floor.cpu, "synth_cpu_s": synth.cpu, "cpu_ratio": synth.cpu / floor.cpu,
                "floor_mib": floor.peak_rss / 2**20, "synth_mib": synth.peak_rss / 2**20,
                "mem_ratio": synth.peak_rss / max(floor.peak_rss, 1),
                "jsii_calls": found["jsii_calls"], "jsii_s": found["jsii_s"],
                "rest_s": synth.wall - floor.wall - found["jsii_s"],
                "after_floor_s": found["after_floor_s"],
                "library_s": found["after_floor_s"] - found["jsii_s"],
                "library_cpu_s": found["library_cpu_s"],
            })
            print(f"  measured {app.stem} on {backend}", file=sys.stderr, flush=True)

    header = ("app", "backend", "submodules", "floor s", "synth s", "ratio", "floor CPU s", "synth CPU s",
              "CPU ratio", "floor MiB", "synth MiB", "mem ratio", "jsii calls", "after floor s", "in jsii s",
              "library s", "library CPU s", "rest s")
    lines = [header] + [
        (r["app"], r["backend"], str(r["submodules"]), f"{r['floor_s']:.2f}", f"{r['synth_s']:.2f}",
         f"{r['ratio']:.2f}", f"{r['floor_cpu_s']:.2f}", f"{r['synth_cpu_s']:.2f}", f"{r['cpu_ratio']:.2f}",
         f"{r['floor_mib']:.0f}", f"{r['synth_mib']:.0f}", f"{r['mem_ratio']:.2f}",
         str(r["jsii_calls"]), f"{r['after_floor_s']:.2f}", f"{r['jsii_s']:.2f}", f"{r['library_s']:.2f}",
         f"{r['library_cpu_s']:.2f}", f"{r['rest_s']:.2f}")
        for r in rows
    ]
    print(f"median of {args.runs} runs (after {args.warmup} warm-up); ratio = synth / floor")
    print("jsii calls / in jsii s: calls into the framework (in-process runs that import the floor first,")
    print("timed around each call); after floor s: the rest of that run; library s = after floor s - in jsii s,")
    print(f"target <= {TARGET_LIBRARY_S} s; library CPU s: that run's Python CPU outside jsii calls (steadier")
    print("under load); rest s = synth s - floor s - in jsii s (two processes subtracted: noisier).")
    print(f"target: {TARGET_WALL_APP} synth s <= {TARGET_WALL_S} s on cdktn on a quiet machine.")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(" --- " for _ in header) + "|")
    for line in lines[1:]:
        print("| " + " | ".join(line) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    for r in rows:
        if r["backend"] == "cdktn" and r["library_s"] > TARGET_LIBRARY_S:
            print(f"over target: {r['app']} on cdktn: library {r['library_s']:.2f} s", file=sys.stderr)
        if r["backend"] == "cdktn" and r["app"] == TARGET_WALL_APP and r["synth_s"] > TARGET_WALL_S:
            print(f"over target: {r['app']} on cdktn: synth {r['synth_s']:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
