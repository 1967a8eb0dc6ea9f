"""Every rendered shell script passes shellcheck at its strictest severity (style)."""

from __future__ import annotations

import re
import subprocess

from bootstrap_support import require, write_executable

from constructs_substrate.bootstrap import BootstrapExtension, render_bootstrap
from constructs_substrate.config import NodeConfig


def _scripts(bootstrap):
    return [f for f in bootstrap.files if f.content.startswith("#!/bin/bash\n")]


def _shellcheck(files, directory):
    paths = [str(write_executable(directory / f.path.rsplit("/", 1)[1], f.content)) for f in files]
    return subprocess.run(
        [require("shellcheck"), "--severity=style", "--shell=bash", "--external-sources", *paths],
        capture_output=True, text=True,
    )


def test_every_script_passes_shellcheck(case, tmp_path):
    _, config, bootstrap = case
    scripts = _scripts(bootstrap)
    expected = {"bootstrap.sh", "prepare-data-volume.sh"}
    if config.profile.runs_chain_node:
        expected |= {"install-binaries.sh", "run-node"}
    assert expected <= {f.path.rsplit("/", 1)[1] for f in scripts}
    result = _shellcheck(scripts, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_extension_script_passes_shellcheck(tmp_path):
    extension = BootstrapExtension(commands=('echo "lifecycle hook done"', "systemctl is-active substrate-node.service"))
    bootstrap = render_bootstrap(NodeConfig(role="rpc", name="rpc-1"), [extension])
    result = _shellcheck([bootstrap.file("/usr/local/lib/substrate/extensions.sh")], tmp_path)
    assert result.returncode == 0, result.stdout


def test_scripts_are_strict_and_directives_explain_themselves(case):
    _, _, bootstrap = case
    for item in _scripts(bootstrap):
        assert "set -euo pipefail\n" in item.content, item.path
        for line in item.content.splitlines():
            if re.match(r"\s*# shellcheck ", line):
                # Every directive carries a reason after it; none disables a check.
                assert "disable=" not in line and re.search(r"  # \S", line), (item.path, line)
