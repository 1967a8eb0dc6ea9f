"""Fixtures for the real-Terraform tests (docs/testing.md).

``terraform``: the binary with a CLI config that installs hashicorp/aws from the local
mirror only. Missing terraform or mirror skips with one line locally and fails when
``CI`` is set (the same rule as the integration tests). The per-stack table
(:mod:`tf_report`) is printed at the end of the run.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from integration.conftest import unavailable  # skip locally, fail when CI is set
from tf_cli import Terraform, find_terraform
from tf_report import REPORT
from tf_stacks import APP_VARIANTS, APPS, synthesize_app, user_stacks

SLOW_BACKEND = "cdktn"
"""Apply against the emulator runs on this backend's pass of ``scripts/test.sh`` only."""


def backend() -> str:
    return os.environ.get("CONSTRUCTS_SUBSTRATE_FRAMEWORK", "cdktn")


@pytest.fixture(scope="session")
def terraform(tmp_path_factory) -> Terraform:
    found = find_terraform(tmp_path_factory.mktemp("terraform-cli"))
    if isinstance(found, str):
        unavailable(found)
    return found


@pytest.fixture(scope="session")
def apply_backend() -> None:
    """Skip (with the reason) on the backend pass that does not apply."""
    if backend() != SLOW_BACKEND:
        pytest.skip(f"apply against moto runs on the {SLOW_BACKEND} pass only (CI budget); this pass validates")


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory) -> dict[str, object]:
    """``<app>-<variant>`` -> its :class:`gates.synthesis.Synthesis` (or the error text
    when it failed to synthesize), every app in every variant, two at a time; plus
    ``"user"`` -> the user stacks' documents. Shared by validate and apply."""
    root = tmp_path_factory.mktemp("synth")
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {f"{app}-{variant}": pool.submit(synthesize_app, app, variant, root / f"{app}-{variant}")
                for app in APPS for variant in APP_VARIANTS}
        results: dict[str, object] = {"user": user_stacks()}
        for label, future in runs.items():
            try:
                results[label] = future.result()
            except AssertionError as error:  # that app's tests fail with it; the others run
                results[label] = str(error)
    REPORT.phase(f"synthesize apps and user stacks ({backend()})", time.monotonic() - start)
    return results


def pytest_terminal_summary(terminalreporter):
    if REPORT.rows:
        terminalreporter.section("terraform: per-stack results")
        terminalreporter.write_line(REPORT.markdown())
        REPORT.write()
