"""Docs that cannot drift: generated tables are current, every option is described,
every Python example in README.md and docs/*.md runs as a user would copy it, every
public name the docs mention is importable from the package root, and the wheel
carries ``py.typed``."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

import constructs_substrate
from constructs_substrate import docgen

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOT_RUNNABLE = re.compile(r"<!--\s*not runnable:\s*(?P<why>[^>]*?)\s*-->\s*$")
"""Put ``<!-- not runnable: <why> -->`` on the line before a ```python block that is
intentionally a fragment. Such marks should be rare (MAX_NOT_RUNNABLE)."""
MAX_NOT_RUNNABLE = 2
FENCE = re.compile(r"^(?P<indent>[ \t]*)```python[ \t]*\n(?P<code>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)


def python_blocks() -> list[tuple[str, str, str | None]]:
    """(``file:line``, code, why-not-runnable or None) of every ```python block."""
    blocks = []
    for path in DOCS:
        text = path.read_text()
        for match in FENCE.finditer(text):
            line = text[: match.start()].count("\n") + 1
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            mark = NOT_RUNNABLE.search(before)
            blocks.append((f"{path.relative_to(ROOT)}:{line}", textwrap.dedent(match.group("code")),
                           mark.group("why") if mark else None))
    return blocks


BLOCKS = python_blocks()


def test_every_public_field_is_documented():
    assert docgen.undocumented() == []


def test_configuration_reference_is_current():
    current = (ROOT / "docs" / "configuration.md").read_text()
    assert current == docgen.render(), "run: python -m constructs_substrate.docgen > docs/configuration.md"


def test_readme_has_exactly_the_two_setup_commands():
    readme = (ROOT / "README.md").read_text().splitlines()
    commands = [line for line in readme if line.startswith("bash scripts/")]
    assert commands == ["bash scripts/synth.sh", "bash scripts/test.sh"]


# ---- examples run ------------------------------------------------------------------

def test_fragments_are_marked_and_rare():
    marked = [(where, why) for where, _, why in BLOCKS if why is not None]
    assert all(why for _, why in marked), "say why a block is not runnable"
    assert len(marked) <= MAX_NOT_RUNNABLE, f"make these examples runnable instead: {marked}"
    assert len(BLOCKS) > len(marked)


@pytest.mark.slow
@pytest.mark.parametrize("code,why", [(code, why) for _, code, why in BLOCKS], ids=[where for where, _, _ in BLOCKS])
def test_python_example_runs_as_copied(code, why, tmp_path):
    """Each block alone, in a fresh interpreter and an empty directory (apps synthesize
    into ``cdktf.out/`` there), with the backend chosen as for a user: by what the
    block imports (``CONSTRUCTS_SUBSTRATE_FRAMEWORK`` is not passed on)."""
    if why is not None:
        pytest.skip(f"marked not runnable: {why}")
    env = {key: value for key, value in os.environ.items() if key != "CONSTRUCTS_SUBSTRATE_FRAMEWORK"}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]


# ---- public names ------------------------------------------------------------------

_NOT_API = {"App", "TerraformStack", "S3Backend"}
"""Framework classes the docs mention; they come from cdktf / cdktn, not from us."""
_MODULES = ("cluster", "observability", "deployment", "global_endpoint", "bootstrap", "settings", "chains",
            "release", "node", "network", "iam", "roles", "ports", "snapshots")


def documented_names() -> set[str]:
    """Class-like names in backticks in README.md and docs/*.md (``Foo``, ``Foo(...)``,
    ``Foo.bar``) that name something of ours."""
    found = set()
    for path in DOCS:
        found |= set(re.findall(r"`([A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*)(?:[(.][^`]*)?`", path.read_text()))
    modules = [importlib.import_module(f"constructs_substrate.{name}") for name in _MODULES]
    ours = set()
    for name in found - _NOT_API:
        for module in modules:
            value = getattr(module, name, None)
            if value is not None and getattr(value, "__module__", "").startswith("constructs_substrate"):
                ours.add(name)
    return ours


def test_every_documented_public_name_is_importable_from_the_root():
    names = documented_names() | {"RegionalTarget", "deploy_chain", "ChainDeployment"}
    names |= set(importlib.import_module("constructs_substrate.cluster").__all__)
    missing = sorted(n for n in names if n not in constructs_substrate.__all__ or not hasattr(constructs_substrate, n))
    assert missing == [], "add them to constructs_substrate/__init__.py (and __all__)"


def test_root_all_is_importable():
    assert [n for n in constructs_substrate.__all__ if not hasattr(constructs_substrate, n)] == []


def test_wheel_ships_py_typed():
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "py.typed" in package_data["constructs_substrate"]
    assert (ROOT / "constructs_substrate" / "py.typed").is_file()
