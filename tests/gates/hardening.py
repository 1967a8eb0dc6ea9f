"""systemd's own measure of how sandboxed each rendered unit is.

``systemd-analyze security`` scores a unit's exposure from 0.0 (locked down) to 10.0
(no sandboxing). systemd 252 runs it on files that are not installed with
``--offline=yes --root=DIR UNIT...``: the units (and any drop-in ``UNIT.d/*.conf``
another file adds, which can weaken a unit) are read at their real paths under DIR.

Units come from three places, so a new unit is measured without editing this file:
every unit ``render_bootstrap`` writes for a set of node configurations covering
each role and option, the same with the autoscaling cluster's bootstrap extension
(lifecycle hook and snapshot restore), and every unit in the user data of every
synthesized app (whatever extensions the apps use).

(Imported by name: pytest puts this folder on ``sys.path``.)
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from constructs_substrate import NodeConfig, TelemetryServerConfig, TlsConfig
from constructs_substrate.bootstrap import render_bootstrap

THRESHOLDS: dict[str, tuple[float, str]] = {
    "substrate-node.service": (
        3.0,
        "The node keeps polkadot-sdk's upstream allowances (namespaces, mount, pivot_root, "
        "landlock, seccomp) because its PVF workers build their own sandbox with them.",
    ),
    "substrate-probe.service": (
        1.5, "DynamicUser, no capabilities, IPv4/IPv6 sockets only: it only makes and answers HTTP calls.",
    ),
    "substrate-install.service": (
        4.3,
        "Runs as root to install the verified release into /opt and /usr/local, bounded to "
        "the file-ownership capabilities; no system-call filter (gpg and curl vary by release).",
    ),
    "substrate-telemetry-core.service": (3.2, "Drives the docker CLI only: no network (the daemon socket is AF_UNIX), no capabilities, read-only system."),
    "substrate-telemetry-shard.service": (3.2, "Drives the docker CLI only: no network (the daemon socket is AF_UNIX), no capabilities, read-only system."),
    "substrate-telemetry-frontend.service": (3.2, "Drives the docker CLI only: no network (the daemon socket is AF_UNIX), no capabilities, read-only system."),
    "substrate-lifecycle.service": (
        1.5, "DynamicUser oneshot that polls the probe and calls the Auto Scaling API.",
    ),
    "substrate-restore.service": (
        1.5, "Runs as the node's user, writes only the data volume.",
    ),
    "substrate-launch-failed@.service": (
        1.5,
        "Root without capabilities, only to read the failed unit's journal for the log; "
        "otherwise the lifecycle unit's sandbox. Abandons the launch once.",
    ),
    "substrate-liveness.service": (
        1.5, "DynamicUser, no capabilities: polls the probe's /live and calls the Auto Scaling API once.",
    ),
    "substrate-snapshot.service": (
        2.0,
        "Root without capabilities and in the host's user namespace, only to ask systemd to stop and "
        "start the node around the snapshot's initiation; otherwise the small units' sandbox.",
    ),
}
"""Highest exposure each unit may score, and why that level. A unit not listed fails
the gate: measure it, then add it here with its reason."""

_IMAGES = TelemetryServerConfig(
    backend_image="docker.io/parity/substrate-telemetry-backend@sha256:" + "a" * 64,
    frontend_image="docker.io/parity/substrate-telemetry-frontend@sha256:" + "b" * 64,
)
_TLS = {"domain": "rpc.example.com", "email": "ops@example.com"}

NODE_CONFIGS: dict[str, Callable[[], NodeConfig]] = {
    "validator": lambda: NodeConfig(role="validator", name="val-1"),
    "rpc": lambda: NodeConfig(role="rpc", name="rpc-1"),
    "rpc-tls-http01": lambda: NodeConfig(role="rpc", name="rpc-2", tls=TlsConfig(**_TLS)),
    "archive-tls-dns01": lambda: NodeConfig(
        role="archive", name="arc-1", tls=TlsConfig(**_TLS, challenge="dns-01", hosted_zone_id="Z0123456789"),
    ),
    "bootnode": lambda: NodeConfig(role="bootnode", name="boot-1"),
    "parachain-rpc": lambda: NodeConfig(role="rpc", name="ah-rpc-1", chain="asset-hub-polkadot"),
    "telemetry": lambda: NodeConfig(
        role="telemetry", name="tel-1", telemetry_server=_IMAGES,
        tls=TlsConfig(domain="telemetry.example.com", email="ops@example.com"),
    ),
}
"""Node configurations whose bootstrap units are measured: every role and option
that changes which units are rendered."""


@dataclass(frozen=True)
class Score:
    unit: str
    exposure: float
    source: str


def _systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        raise RuntimeError("systemd-analyze is not installed (apt package 'systemd'; scripts/setup.sh installs it)")
    return found


def write_files(files: Iterable[tuple[str, str]], root: Path) -> list[str]:
    """Write ``(path, content)`` under ``root``; return the unit names among them."""
    units = []
    for path, content in files:
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        if path.endswith(".service") and "/systemd/system/" in path and ".d/" not in path:
            units.append(path.rsplit("/", 1)[1])
    return units


TEMPLATE_INSTANCE = "example.service"
"""Instance name a template unit (``name@.service``) is measured as: systemd-analyze
scores units, not templates; every instance of a template has the same sandbox."""


def _measured_name(unit: str) -> str:
    return unit.replace("@.", f"@{TEMPLATE_INSTANCE}.", 1) if "@." in unit else unit


def measure(root: Path, units: list[str]) -> dict[str, float]:
    """Exposure of each unit installed under ``root`` (a template by one instance)."""
    if not units:
        return {}
    measured = {_measured_name(unit): unit for unit in units}
    result = subprocess.run(
        [_systemd_analyze(), "security", "--offline=yes", f"--root={root}", "--no-pager", *measured],
        capture_output=True, text=True, timeout=120,
    )
    scores = {
        measured.get(m.group(1), m.group(1)): float(m.group(2))
        for m in re.finditer(r"Overall exposure level for (\S+): (\d+(?:\.\d+)?)", result.stdout)
    }
    missing = [u for u in units if u not in scores]
    if missing:
        raise RuntimeError(f"systemd-analyze gave no score for {missing}: {result.stdout[-500:]} {result.stderr[-1500:]}")
    return scores


def score_sources(sources: dict[str, list[tuple[str, str]]], workdir: Path) -> list[Score]:
    """Every unit of every source (a label → its files), measured in its own root."""
    scores = []
    for index, (label, files) in enumerate(sorted(sources.items())):
        root = workdir / f"root-{index}"
        units = write_files(files, root)
        scores += [Score(unit, exposure, label) for unit, exposure in measure(root, units).items()]
    return scores


def node_sources() -> dict[str, list[tuple[str, str]]]:
    """Every file the bootstrap writes, per configuration in :data:`NODE_CONFIGS`, plus
    an autoscaling-cluster node with a snapshot restore (the cluster's extension adds
    ``substrate-lifecycle.service``, ``substrate-restore.service`` and a drop-in into
    the node's unit, which apps only render when they configure a snapshot)."""
    sources = {
        f"role {name}": [(f.path, f.content) for f in render_bootstrap(build()).files]
        for name, build in NODE_CONFIGS.items()
    }
    from constructs_substrate.bootstrap.cluster_extension import cluster_extension
    from constructs_substrate.cluster.config import ApiClusterConfig, ChainSnapshot

    node = NODE_CONFIGS["rpc"]()
    cluster = ApiClusterConfig(
        node=node, domain_name="eu.rpc.example.com", zone_name="rpc.example.com", hosted_zone_id="Z0123456789",
        snapshot=ChainSnapshot(archive_url="https://snapshots.example.com/polkadot.tar.zst", archive_sha256="a" * 64),
    )
    extension = cluster_extension(cluster, group_name="group", hook_name="hook")
    sources["cluster rpc with snapshot restore"] = [
        (f.path, f.content) for f in render_bootstrap(node, [extension]).files
    ]
    return sources


def worst(scores: list[Score]) -> dict[str, Score]:
    """The highest score of each unit over all its renderings."""
    result: dict[str, Score] = {}
    for score in sorted(scores, key=lambda s: (s.unit, -s.exposure, s.source)):
        result.setdefault(score.unit, score)
    return result


def over_threshold(scores: list[Score]) -> list[str]:
    problems = []
    for unit, score in sorted(worst(scores).items()):
        if unit not in THRESHOLDS:
            problems.append(
                f"{unit} (from {score.source}) scores {score.exposure} but has no threshold: "
                "add it to hardening.THRESHOLDS with a reason"
            )
        elif score.exposure > THRESHOLDS[unit][0]:
            problems.append(
                f"{unit} (from {score.source}) scores {score.exposure}, above its threshold {THRESHOLDS[unit][0]}"
            )
    return problems


def scores_markdown(scores: list[Score]) -> str:
    """The hardening table of docs/security.md."""
    lines = ["| unit | exposure | threshold | why this level |", "| --- | --- | --- | --- |"]
    for unit, score in sorted(worst(scores).items()):
        threshold, reason = THRESHOLDS.get(unit, (None, "no threshold set"))
        lines.append(f"| `{unit}` | {score.exposure:.1f} | {threshold if threshold is not None else '-'} | {reason} |")
    return "\n".join(lines)
