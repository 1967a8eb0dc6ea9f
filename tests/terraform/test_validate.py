"""``terraform validate`` of every stack of every example app (each settings variant
of ``gates.synthesis``) and of one user-written stack per construct and role, on the
backend of this pass: ``terraform init`` from the mirror, then ``validate -json`` must
report 0 errors and 0 warnings on the copy rewritten for the mirror's provider
(:mod:`provider_skew`). Runs on both backends.

Speed: the stacks are child modules of two root configurations validated side by side
(:func:`workspace.module_root`, one per core): one validate of 37 stacks takes ~20 s,
37 validates ~140 s on this machine (each starts the 700 MB provider and loads its
schema)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import backend
from tf_report import REPORT
from tf_stacks import APP_VARIANTS, APPS, USER_STACKS
from workspace import module_root

WORKERS = 2
SYNTH_FAILED = "<synthesis failed>"


def _module_name(label: str, stack: str) -> str:
    return stack if label == "user" else f"{label}__{stack}"


def _validate_root(terraform, folder, stacks: dict[str, dict]) -> dict[str, list[dict]]:
    counts = module_root(folder, stacks, terraform.aws_version)
    start = time.monotonic()
    terraform.init(folder, backend=False)
    result, diagnostics = terraform.validate(folder)
    seconds = time.monotonic() - start
    REPORT.phase(f"init+validate of {len(stacks)} stacks in one root ({backend()})", seconds)
    by_stack: dict[str, list[dict]] = {name: [] for name in stacks}
    for d in diagnostics:
        filename = d.get("range", {}).get("filename", "")
        owner = filename.split("/", 1)[0] if "/" in filename else None
        by_stack.setdefault(owner if owner in by_stack else "<root>", []).append(d)
    for name, diags in by_stack.items():
        row = REPORT.row(name, backend())
        row.rewrites = ", ".join(f"{k} x{n}" for k, n in counts.get(name, {}).items() if n and k != "aws-version") or "-"
        errors = sum(d.get("severity") == "error" for d in diags)
        row.validate = "ok" if not diags else f"{errors} errors, {len(diags) - errors} warnings"
    return by_stack


@pytest.fixture(scope="session")
def validations(terraform, synthesized, tmp_path_factory) -> dict[str, list[dict] | str]:
    """Module name (``<app>-<variant>__<stack>`` or the user stack's name) -> diagnostics;
    ``<app>-<variant>__<synthesis failed>`` -> the synthesis error."""
    root = tmp_path_factory.mktemp("validate")
    start = time.monotonic()
    stacks = {_module_name("user", name): doc for name, doc in synthesized["user"].items()}
    results: dict[str, list[dict] | str] = {}
    for label, run in synthesized.items():
        if label == "user":
            continue
        if isinstance(run, str):
            results[_module_name(label, SYNTH_FAILED)] = run
        else:
            stacks.update({_module_name(label, name): doc for name, doc in run.stacks.items()})
    names = sorted(stacks)
    halves = [names[i::WORKERS] for i in range(WORKERS)]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(_validate_root, terraform, root / f"root-{i}", {n: stacks[n] for n in half})
                   for i, half in enumerate(halves) if half]
        for future in futures:
            results.update(future.result())
    REPORT.phase(f"validate all ({backend()})", time.monotonic() - start)
    return results


def _problems(diagnostics: list[dict]) -> list[str]:
    out = []
    for d in diagnostics:
        where = d.get("range", {})
        out.append(f"{d.get('severity')}: {d.get('summary')}: {d.get('detail', '')[:400]} "
                   f"({where.get('filename', '')}:{where.get('start', {}).get('line', '')}) {d.get('address', '')}")
    return out


def test_no_diagnostic_outside_the_stacks(validations):
    assert not validations.get("<root>"), _problems(validations["<root>"])


@pytest.mark.parametrize("variant", APP_VARIANTS)
@pytest.mark.parametrize("app", APPS)
def test_every_app_stack_validates(validations, app, variant):
    label = f"{app}-{variant}"
    failed = validations.get(_module_name(label, SYNTH_FAILED))
    assert failed is None, failed
    stacks = {name: diags for name, diags in validations.items() if name.startswith(f"{label}__")}
    assert stacks, f"{label} synthesized no stacks"
    problems = {name: _problems(diags) for name, diags in stacks.items() if diags}
    assert not problems, f"terraform validate on {label}: {problems}"


@pytest.mark.parametrize("stack", USER_STACKS)
def test_user_stack_validates(validations, stack):
    diagnostics = validations[stack]
    assert not diagnostics, f"terraform validate on {stack}: {_problems(diagnostics)}"
