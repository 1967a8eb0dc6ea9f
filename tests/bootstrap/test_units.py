"""Every rendered systemd unit passes ``systemd-analyze verify`` (systemd 252).

How: ``systemd-analyze verify --root=DIR`` loads units and checks that Exec*
commands exist *inside DIR*, but it also needs systemd's own units there
(``sysinit.target``...). So each test builds a throwaway root: a copy of
``/usr/lib/systemd/system``, every rendered file at its real path (the scripts the
units run are the rendered ones), and stubs only for what Ubuntu's packages would
provide (python3, docker and its unit). ``verify`` exits 0 on unknown keys or bad
values (it only warns), so the test also requires empty output.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from bootstrap_support import require, write_executable, write_tree

from constructs_substrate import layout

SYSTEMD_UNITS = Path("/usr/lib/systemd/system")
# Executables and units the Ubuntu packages install (docker.io), stubbed in the root.
STUB_EXECUTABLES = ("/usr/bin/python3", "/usr/bin/docker", "/bin/sh", "/usr/bin/test")  # what Ubuntu ships
STUB_UNITS = {"docker.service": "[Unit]\nDescription=stub\n[Service]\nExecStart=/usr/bin/docker\n"}


@pytest.fixture(scope="session")
def systemd_units(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("systemd") / "system"
    shutil.copytree(SYSTEMD_UNITS, copy, symlinks=True)
    return copy


def _root(bootstrap, systemd_units: Path, root: Path) -> list[str]:
    shutil.copytree(systemd_units, root / "usr/lib/systemd/system", symlinks=True)
    write_tree(bootstrap, root)
    for executable in STUB_EXECUTABLES:
        write_executable(root / executable.lstrip("/"), "#!/bin/sh\n")
    for name, text in STUB_UNITS.items():
        (root / "usr/lib/systemd/system" / name).write_text(text)
    return [f.path.rsplit("/", 1)[1] for f in bootstrap.files if f.path.endswith(".service")]


def test_every_unit_passes_systemd_analyze_verify(case, systemd_units, tmp_path):
    name, config, bootstrap = case
    units = _root(bootstrap, systemd_units, tmp_path)
    if config.profile.runs_chain_node:
        assert {layout.NODE_SERVICE, layout.INSTALL_SERVICE} <= set(units)
    assert units, "no units rendered"
    result = subprocess.run(
        [require("systemd-analyze"), "verify", f"--root={tmp_path}", "--man=no", "--generators=no", *units],
        capture_output=True, text=True,
    )
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr


def test_verify_catches_a_missing_exec_path(rendered, systemd_units, tmp_path):
    """The method above does check ExecStart: without the rendered run-node it fails."""
    bootstrap = rendered["rpc"]
    _root(bootstrap, systemd_units, tmp_path)
    (tmp_path / "usr/local/lib/substrate/run-node").unlink()
    result = subprocess.run(
        [require("systemd-analyze"), "verify", f"--root={tmp_path}", "--man=no", layout.NODE_SERVICE],
        capture_output=True, text=True,
    )
    assert result.returncode != 0 and "run-node" in result.stderr


def _exposure(unit_text: str, tmp_path: Path) -> float:
    unit = tmp_path / "check.service"
    unit.write_text(unit_text)
    result = subprocess.run(
        [require("systemd-analyze"), "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True, text=True,
    )
    line = next(l for l in result.stdout.splitlines() if "Overall exposure level" in l)
    return float(line.split("level for check.service:")[1].split()[0])


def test_sandboxing_scores(rendered, tmp_path):
    """Regression guard on systemd's exposure score (0 = locked down, 10 = none).
    The node keeps upstream's allowances for the PVF workers' own sandbox."""
    bootstrap = rendered["rpc"]
    node = _exposure(bootstrap.file(f"/etc/systemd/system/{layout.NODE_SERVICE}").content, tmp_path)
    probe = _exposure(bootstrap.file(f"/etc/systemd/system/{layout.PROBE_SERVICE}").content, tmp_path)
    assert node <= 3.5, node
    assert probe <= 2.0, probe
