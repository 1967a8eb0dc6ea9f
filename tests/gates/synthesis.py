"""Synthesize every example app the way a user does, and read what it wrote.

Apps are discovered, not listed: every ``apps/*.py`` whose name does not start with
``_`` is one app. Each is run as ``CDKTF_OUTDIR=<tmp> python apps/<app>.py`` in its own
process (the AWS bindings cost ~15 s to import, so the runs go in parallel, one per
CPU), once per *variant* of the environment the apps document:

- ``default``: no settings at all (what ``bash scripts/synth.sh`` produces);
- ``full``: every optional feature the settings offer turned on (own domain and
  zone, alerts, two validators, latency routing, a telemetry node), run twice with
  different ``PYTHONHASHSEED`` values to prove synthesis is byte-deterministic.

The developer's own settings (``SUBSTRATE_*`` variables, ``substrate.settings.json``)
never reach the apps: each run gets an empty settings file and only the variant's
variables. The Terraform-CDK backend (``CONSTRUCTS_SUBSTRATE_FRAMEWORK``) is inherited,
so each backend pass of ``scripts/test.sh`` scans its own output.

(Imported by name: pytest puts this folder on ``sys.path``.)
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[2]
APPS_DIR = ROOT / "apps"
PYTHON = sys.executable

VARIANTS: dict[str, dict[str, str]] = {
    "default": {},
    "full": {
        "SUBSTRATE_DOMAIN": "example.org",
        "SUBSTRATE_ZONE_ID": "Z0123456789ABCDEFGHIJ",
        "SUBSTRATE_ACME_EMAIL": "ops@example.org",
        "SUBSTRATE_ALERT_EMAIL": "alerts@example.org",
        "SUBSTRATE_VALIDATORS": "2",
        "SUBSTRATE_ROUTING": "latency",
        "SUBSTRATE_TELEMETRY_BACKEND_IMAGE": "docker.io/parity/substrate-telemetry-backend@sha256:" + "a" * 64,
        "SUBSTRATE_TELEMETRY_FRONTEND_IMAGE": "docker.io/parity/substrate-telemetry-frontend@sha256:" + "b" * 64,
    },
}
"""Settings each app is synthesized with (docs/apps.md lists the variables)."""
DETERMINISM_VARIANT = "full"
"""The variant synthesized twice (the one with the most resources)."""
SYNTH_TIMEOUT = 300


def discover_apps() -> list[str]:
    """Every app: ``apps/*.py`` not starting with ``_``, by stem."""
    return sorted(p.stem for p in APPS_DIR.glob("*.py") if not p.name.startswith("_"))


@dataclass
class Synthesis:
    """One run of one app: where it wrote, and each stack's parsed JSON."""

    app: str
    variant: str
    outdir: Path
    returncode: int
    output: str
    seconds: float
    stacks: dict[str, dict] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.app}[{self.variant}]"

    def stack_files(self) -> dict[str, Path]:
        return {p.parent.name: p for p in sorted((self.outdir / "stacks").glob("*/cdk.tf.json"))}


def _environment(variant: dict[str, str], outdir: Path, seed: str) -> dict[str, str]:
    # The apps' own settings come only from the variant: a developer's shell or
    # settings file must not change what the gate scans.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUBSTRATE_", "CDKTF_"))}
    settings = outdir.parent / f"{outdir.name}.settings.json"
    settings.write_text("{}\n")
    env.update(variant)
    env.update(
        SUBSTRATE_SETTINGS=str(settings),
        CDKTF_OUTDIR=str(outdir),
        PYTHONHASHSEED=seed,
        JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1",
        JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION="1",
    )
    return env


def synthesize(
    app: str, variant: str, outdir: Path, seed: str = "0", extra: dict[str, str] | None = None
) -> Synthesis:
    """``extra``: more settings on top of the variant's (e.g. ``SUBSTRATE_STATE_BUCKET``)."""
    outdir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    result = subprocess.run(
        [PYTHON, str(APPS_DIR / f"{app}.py")],
        cwd=ROOT,
        env=_environment({**VARIANTS[variant], **(extra or {})}, outdir, seed),
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT,
    )
    synthesis = Synthesis(
        app, variant, outdir, result.returncode, result.stdout + result.stderr, time.monotonic() - start
    )
    if result.returncode == 0:
        synthesis.stacks = {
            name: json.loads(path.read_text()) for name, path in synthesis.stack_files().items()
        }
    return synthesis


def synthesize_all(
    root: Path, determinism: bool = True
) -> tuple[dict[tuple[str, str], Synthesis], dict[str, Synthesis]]:
    """Every app in every variant, plus (``determinism``) a second run of
    :data:`DETERMINISM_VARIANT` with another hash seed.

    Returns ``(runs by (app, variant), second runs by app)``.
    """
    apps = discover_apps()
    jobs = [(app, variant, "1") for app in apps for variant in VARIANTS]
    jobs += [(app, DETERMINISM_VARIANT, "2") for app in apps if determinism]
    workers = max(2, os.cpu_count() or 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            job: pool.submit(synthesize, job[0], job[1], root / f"{job[0]}-{job[1]}-{job[2]}", job[2])
            for job in jobs
        }
    runs = {(app, variant): futures[(app, variant, "1")].result() for app in apps for variant in VARIANTS}
    again = {app: futures[(app, DETERMINISM_VARIANT, "2")].result() for app in apps if determinism}
    return runs, again


def tree_differences(first: Path, second: Path) -> list[str]:
    """Files that differ between two synth output directories (byte comparison)."""
    files_a = {p.relative_to(first) for p in first.rglob("*") if p.is_file()}
    files_b = {p.relative_to(second) for p in second.rglob("*") if p.is_file()}
    problems = [f"only in the first run: {p}" for p in sorted(files_a - files_b)]
    problems += [f"only in the second run: {p}" for p in sorted(files_b - files_a)]
    problems += [
        f"differs: {p}"
        for p in sorted(files_a & files_b)
        if (first / p).read_bytes() != (second / p).read_bytes()
    ]
    return problems


# ---- reading the JSON ----------------------------------------------------------


def without_nulls(value: Any) -> Any:
    """A copy with every explicit ``null`` removed, at any depth (checkov reads
    ``"kms_key_id": null`` inside a block as a value and can skip a check)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value if v is not None]
    return value


def resources(document: dict, kind: str) -> dict[str, dict]:
    return (document.get("resource") or {}).get(kind) or {}


def data_sources(document: dict, kind: str) -> dict[str, dict]:
    return (document.get("data") or {}).get(kind) or {}


def all_resources(document: dict) -> Iterator[tuple[str, str, dict]]:
    for kind, items in (document.get("resource") or {}).items():
        for name, body in (items or {}).items():
            if isinstance(body, dict):
                yield kind, name, body


def blocks(value: Any) -> list[dict]:
    """A nested block as a list of dicts (cdktf writes a single block as an object,
    repeated blocks as a list)."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)]


def decode_user_data(value: str) -> str:
    """base64 → (gzip) → text; raises ``ValueError`` when it is not base64."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"user data is not base64: {error}") from None
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", errors="replace")


def rendered_user_data(document: dict) -> Iterator[tuple[str, str]]:
    """``(address, text)`` of every instance's and launch template's user data."""
    for kind, name, body in all_resources(document):
        if kind == "aws_instance":
            if isinstance(body.get("user_data_base64"), str):
                yield f"{kind}.{name}", decode_user_data(body["user_data_base64"])
            if isinstance(body.get("user_data"), str):
                yield f"{kind}.{name}", body["user_data"]
        elif kind == "aws_launch_template" and isinstance(body.get("user_data"), str):
            value = body["user_data"]
            if "${" in value:  # a Terraform expression (e.g. base64gzip(...)): nothing to decode
                yield f"{kind}.{name}", value
            else:
                yield f"{kind}.{name}", decode_user_data(value)


def bootstrap_bundles(document: dict) -> Iterator[tuple[str, str, list[tuple[str, str]]]]:
    """``(address, key, files)`` of every bootstrap bundle in the stack: an
    ``aws_s3_object`` whose ``content_base64`` is a ``tar.gz`` (see
    constructs_substrate/bootstrap/bundle.py); ``files`` are ``(path, text)``."""
    import io
    import tarfile

    for name, body in resources(document, "aws_s3_object").items():
        value = body.get("content_base64")
        if not isinstance(value, str) or "${" in value:
            continue
        raw = base64.b64decode(value)
        if raw[:2] != b"\x1f\x8b":
            continue
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
            files = [("/" + m.name, tar.extractfile(m).read().decode("utf-8", errors="replace")) for m in tar if m.isfile()]
        yield f"aws_s3_object.{name}", str(body.get("key")), files


def booted_files(document: dict, user_data: str) -> list[tuple[str, str]]:
    """``(path, content)`` of everything an instance with this user data writes: the
    cloud-config's ``write_files``, then the bootstrap bundle its ``bundle.json`` names."""
    import yaml

    if not user_data.startswith("#cloud-config"):
        return []
    written = [(f["path"], f.get("content", "")) for f in (yaml.safe_load(user_data) or {}).get("write_files") or []
               if "path" in f]
    keys = {json.loads(content).get("key") for path, content in written if path == "/etc/substrate/bundle.json"}
    return written + [file for _, key, files in bootstrap_bundles(document) if key in keys for file in files]


def text_table(header: tuple, rows: list[tuple]) -> list[str]:
    """Text columns: left-aligned words, right-aligned numbers."""
    widths = [max(len(str(v)) for v in column) for column in zip(header, *rows)]
    def line(row) -> str:
        return "  ".join(str(v).rjust(w) if isinstance(v, int) else str(v).ljust(w) for v, w in zip(row, widths)).rstrip()
    return [line(header), *(line(row) for row in rows)]
