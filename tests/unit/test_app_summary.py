"""What a newcomer sees (issue 14 item 1): the polkadot app run for real on a fresh clone
(no settings): a one-screen summary in order (headline, cost, endpoints, warnings naming
the settings, next step), no framework banner, the cost estimate written beside the
stacks, byte-identical stacks on a second run; setup's step log points at its log file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from constructs_substrate.cost import ESTIMATE_FILE, estimate, read_stacks

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 40


def run_app(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUBSTRATE_", "JSII_SILENCE"))}
    env["SUBSTRATE_SETTINGS"] = str(cwd / "none.json")
    (cwd / "none.json").write_text("{}")
    return subprocess.run([sys.executable, str(ROOT / "apps" / "polkadot.py"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    return (first, run_app(first)), (second, run_app(second, "--verbose"))


def test_summary_fits_one_screen_in_order(runs):
    (cwd, result), _ = runs
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) <= MAX_LINES, result.stdout
    assert re.fullmatch(r"polkadot: \d+ stacks, \d+ resources, CDK (Terrain \(cdktn\)|for Terraform \(cdktf\)), "
                        r"written to cdktf\.out/", lines[0]), lines[0]
    sections = [line for line in lines if line and not line.startswith(" ")]
    assert [s.split(":")[0] for s in sections[1:]] == ["Estimated cost", "Endpoints", "Also written", "Warnings", "Next"]
    assert "aws_instance" not in result.stdout, "per-type counts only with --verbose"
    text = result.stdout
    assert re.search(r"Estimated cost: \$[\d,]+/month", text)
    assert "  polkadot.example.com" in text and "budget alarm $" in text
    warnings = text.split("\nWarnings\n")[1].split("\n\n")[0]
    for setting in ("SUBSTRATE_DOMAIN", "SUBSTRATE_ALERT_EMAIL", "SUBSTRATE_COST_TAG_OWNER"):
        assert setting in warnings
    assert "NO ALERT RECEIVER" in warnings
    assert "npx cdktf-cli@0.21 deploy 'polkadot-*'" in text.split("\nNext\n")[1]


def test_no_framework_banner(runs):
    for _, result in runs:
        assert "b'!!" not in result.stderr + result.stdout and "end-of-life" not in result.stderr


def test_cost_estimate_beside_the_stacks_matches_the_synthesized_resources(runs):
    (cwd, _), _ = runs
    out = cwd / "cdktf.out"
    written = (out / ESTIMATE_FILE).read_text()
    assert written == estimate(read_stacks(out)).to_json()
    assert json.loads(written)["monthly_usd"] > 3000


def test_second_run_is_byte_identical_and_verbose_adds_detail(runs):
    (first, _), (second, verbose) = runs
    assert verbose.returncode == 0, verbose.stderr
    assert "aws_instance" in verbose.stdout and "GB gp3" in verbose.stdout
    names = sorted(p.relative_to(first) for p in (first / "cdktf.out").rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(second) for p in (second / "cdktf.out").rglob("*") if p.is_file())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_unknown_argument_is_a_usage_error(tmp_path):
    result = run_app(tmp_path, "--frobnicate")
    assert result.returncode == 2 and "usage:" in result.stderr


def steps(tmp_path: Path, script: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail; source {ROOT / 'scripts' / 'steps.sh'}; steps_init; {script}"],
        cwd=tmp_path, env={**os.environ, "STEPS_LOG": str(tmp_path / "setup.log"), **env},
        capture_output=True, text=True, timeout=60,
    )


def test_setup_step_failure_points_at_the_log_with_full_output(tmp_path):
    result = steps(tmp_path, 'step "quiet step" true; step "pip install" sh -c "echo detail-1; echo detail-2 >&2; exit 3"')
    assert result.returncode == 3
    assert re.search(r"\d\d:\d\d:\d\d setup: quiet step done \(\d+ s\)", result.stderr)
    assert "pip install FAILED (exit 3" in result.stderr and "    detail-2" in result.stderr
    assert f"full output: {tmp_path / 'setup.log'}" in result.stderr
    log = (tmp_path / "setup.log").read_text()
    assert "detail-1" in log and "detail-2" in log and "==> pip install" in log


def test_setup_long_step_shows_a_heartbeat(tmp_path):
    result = steps(tmp_path, 'step "npm ci" sleep 3', STEPS_HEARTBEAT="1")
    assert result.returncode == 0
    assert "npm ci still running (1 s)" in result.stderr and re.search(r"npm ci done \(\d+ s\)", result.stderr)
