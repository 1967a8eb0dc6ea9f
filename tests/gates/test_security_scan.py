"""Gate: checkov finds nothing unreviewed in any stack of any app.

Every app (``apps/*.py``) in every variant is synthesized once per session; each
stack's ``cdk.tf.json`` is copied without nulls and scanned in ONE checkov run.
A stack fails on any finding not covered by ``security/checkov-skips.yaml``, on a
parsing error, and when no check ran on it. The counts are printed after the run.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from checkov_gate import FileResult, checkov_version, evaluate, load_skips, prepare, run_checkov, unused_skips
from synthesis import VARIANTS, discover_apps, text_table

pytestmark = pytest.mark.slow

CASES = [(app, variant) for app in discover_apps() for variant in VARIANTS]


@dataclass
class Scan:
    version: str
    stacks: dict[tuple[str, str], dict[str, FileResult]]
    """(app, variant) → stack → result."""

    def results(self) -> list[FileResult]:
        return [r for stacks in self.stacks.values() for r in stacks.values()]


@pytest.fixture(scope="session")
def checkov_results(synthesized, tmp_path_factory, gate_report) -> Scan:
    skips = load_skips()
    root = tmp_path_factory.mktemp("checkov")
    files = {}
    for (app, variant), run in sorted(synthesized[0].items()):
        if run.returncode == 0:
            for stack, path in run.stack_files().items():
                files[(app, variant, stack)] = prepare(path, root / app / variant / stack)
    report = run_checkov(list(files.values())) if files else {}
    results = evaluate(report, list(files.values()), skips)
    by_case: dict[tuple[str, str], dict[str, FileResult]] = {}
    for (app, variant, stack), path in files.items():
        by_case.setdefault((app, variant), {})[stack] = results[path.resolve()]

    version = checkov_version(report) or "?"
    rows = [(app, variant, stack, len(r.passed), len(r.failed), len(r.skipped), int(r.parsing_error))
            for (app, variant), stacks in sorted(by_case.items()) for stack, r in stacks.items()]
    header = ("app", "variant", "stack", "passed", "failed", "skipped", "parse errors")
    lines = [f"checkov {version}, skips from security/checkov-skips.yaml", "", *text_table(header, rows)]
    everything = [r for stacks in by_case.values() for r in stacks.values()]
    lines += ["", "skip entry uses:"]
    for skip in (s for s in skips if s.applies_to(version)):
        uses = sum(1 for r in everything for _, _, s in r.skipped if s == skip)
        lines.append(f"  {skip.check:<12} {uses:>3}  {skip.scope}")
    gate_report["security scan (checkov)"] = "\n".join(lines)
    return Scan(version, by_case)


@pytest.mark.parametrize("app,variant", CASES)
def test_app_synthesizes(synthesis_of, app, variant):
    run = synthesis_of(app, variant)
    assert run.stacks, f"{run.label} wrote no stacks/*/cdk.tf.json"


@pytest.mark.parametrize("app,variant", CASES)
def test_checkov_finds_nothing_unreviewed(synthesis_of, checkov_results, app, variant):
    synthesis_of(app, variant)
    stacks = checkov_results.stacks[(app, variant)]
    assert stacks, "no stack was scanned"
    problems = [p for result in stacks.values() for p in result.problems()]
    assert not problems, (
        "fix the construct, or add an entry with a real reason to security/checkov-skips.yaml:\n  "
        + "\n  ".join(problems)
    )


def test_every_skip_is_still_needed(checkov_results):
    """An entry that suppresses nothing while its check runs is stale: remove it.
    (An entry whose check did not run at all, e.g. one added in a newer checkov, is
    kept: CI installs the newest checkov.)"""
    everything = checkov_results.results()
    ran = {check for r in everything for check, _ in r.passed} | {c for r in everything for c, _, _ in r.failed + r.skipped}
    stale = [s for s in unused_skips(load_skips(), everything, checkov_results.version) if s.check in ran]
    assert not stale, "stale entries in security/checkov-skips.yaml: " + ", ".join(f"{s.check} ({s.scope})" for s in stale)


def test_skip_file_is_valid():
    skips = load_skips()
    assert skips and all(s.reason for s in skips)
