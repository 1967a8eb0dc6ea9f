"""Quality gates: every app synthesized once per session (in parallel subprocesses),
shared by the security scan, the invariants, the determinism check and the hardening
scores; the gates' tables are printed in pytest's terminal summary so CI logs show them.

The synthesis starts in the background when the first test of this folder starts,
and the tests that need it are moved after the others of this folder, so the app
synths (subprocesses) overlap with the in-process tests (fuzzing, checkov self-checks).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

import hardening
from synthesis import Synthesis, booted_files, rendered_user_data, synthesize_all, text_table

_REPORT = pytest.StashKey[dict]()


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "slow: synthesizes every app, or runs checkov, Hypothesis or a CDK synth; part of the "
        "default run (CI runs everything), deselect with -m 'not slow' for a quick loop",
    )


HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(session, config, items):
    """Within this folder, tests that need the apps' synthesis run last (stable order)."""
    mine = [i for i, item in enumerate(items) if HERE in Path(str(item.fspath)).resolve().parents]
    if not mine:
        return
    start, end = mine[0], mine[-1] + 1
    block = items[start:end]
    block.sort(key=lambda item: HERE in Path(str(item.fspath)).resolve().parents and "synthesized" in item.fixturenames)
    items[start:end] = block


@pytest.fixture(scope="session", autouse=True)
def _synthesis_in_background(request, tmp_path_factory):
    """Starts synthesizing every app as soon as this folder's first test runs (when
    any selected test needs it)."""
    if not any("synthesized" in item.fixturenames for item in request.session.items):
        yield None
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(synthesize_all, tmp_path_factory.mktemp("apps"))


@pytest.fixture(scope="session")
def synthesized(_synthesis_in_background: Future) -> tuple[dict[tuple[str, str], Synthesis], dict[str, Synthesis]]:
    """``(runs by (app, variant), second runs by app)``; see ``synthesis.synthesize_all``."""
    return _synthesis_in_background.result()


@pytest.fixture(scope="session")
def gate_report(request) -> dict[str, str]:
    """Title → text, printed after the test run."""
    return request.config.stash.setdefault(_REPORT, {})


@pytest.fixture
def synthesis_of(synthesized):
    """The successful run of one app in one variant (fails the test otherwise)."""
    def get(app: str, variant: str) -> Synthesis:
        run = synthesized[0][(app, variant)]
        if run.returncode != 0:
            pytest.fail(f"{run.label} did not synthesize (exit {run.returncode}):\n{run.output[-3000:]}")
        return run
    return get


@pytest.fixture(scope="session")
def unit_scores(synthesized, tmp_path_factory, gate_report) -> list[hardening.Score]:
    sources = hardening.node_sources()
    for (app, variant), run in sorted(synthesized[0].items()):
        for stack, document in run.stacks.items():
            for address, text in rendered_user_data(document):
                files = booted_files(document, text)  # the user data and its bootstrap bundle
                if files:
                    sources[f"app {app}[{variant}] {stack} {address}"] = files
    scores = hardening.score_sources(sources, tmp_path_factory.mktemp("units"))
    rows = [(unit, f"{score.exposure:.1f}", str(hardening.THRESHOLDS.get(unit, ("-",))[0]), score.source)
            for unit, score in sorted(hardening.worst(scores).items())]
    lines = text_table(("unit", "worst", "threshold", "worst on"), rows)
    gate_report["systemd hardening (exposure, 0 = locked down, 10 = none)"] = "\n".join(lines)
    return scores


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for title, text in config.stash.get(_REPORT, {}).items():
        terminalreporter.write_sep("-", title)
        terminalreporter.write_line(text)
