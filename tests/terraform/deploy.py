"""Apply, re-plan and destroy a set of synthesized stacks against the emulator, in
dependency order as ``cdktf deploy`` does (the ``dependencies`` of each stack in
``cdktf.out/manifest.json``: the global stack reads the regional ones through
``terraform_remote_state``), :data:`WORKERS` stacks at a time.

Destroy needs one explicit step first: volumes the library protects with
``lifecycle.prevent_destroy`` (retained data volumes) cannot be destroyed until the
protection is lifted. :func:`unprotect` does on the scratch copy what an operator does
in their own configuration (docs/substrate-node.md, "Destroying a node with a retained
volume").
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from moto_region import point_remote_state, write_override
from tf_report import REPORT
from workspace import resource_count, write_stack

WORKERS = 4
"""Stacks applied, re-planned or destroyed at once. More than the 2 cores: an apply
against the emulator mostly waits (the provider's own delays, e.g. ~60 s for an ALB to
turn active, ~55 s for S3 lifecycle rules to settle), using a few CPU seconds a minute."""
APPLY = ("-auto-approve", "-no-color", "-input=false", "-parallelism=10")


@dataclass
class StackRun:
    name: str
    folder: Path
    document: dict
    dependencies: list[str] = field(default_factory=list)
    applied: int | None = None
    replan: int | None = None
    replan_output: str = ""
    destroyed: str = ""
    errors: list[str] = field(default_factory=list)
    """What failed (apply, re-plan or destroy output); one failing stack does not stop
    the others, except those that depend on it."""

    def problems(self) -> list[str]:
        out = list(self.errors)
        if self.replan:
            out.append(f"re-plan after apply shows {self.replan} changes:\n{self.replan_output}")
        return out


def waves(runs: dict[str, StackRun]) -> list[list[str]]:
    """Stacks grouped so each wave only depends on earlier waves."""
    done: set[str] = set()
    out = []
    while len(done) < len(runs):
        wave = sorted(n for n, r in runs.items() if n not in done and set(r.dependencies) <= done)
        assert wave, f"dependency cycle among {sorted(set(runs) - done)}"
        out.append(wave)
        done.update(wave)
    return out


def prepare(terraform, root: Path, stacks: dict[str, dict], url: str,
            dependencies: dict[str, list[str]] | None = None) -> dict[str, StackRun]:
    """Scratch copies with the emulator override, initialized. A stack with S3 state
    (``SUBSTRATE_STATE_BUCKET``) gets its backend and its ``terraform_remote_state``
    pointed at the emulator's S3 (:func:`moto_region.write_override`)."""
    runs = {}
    for name, document in stacks.items():
        folder, rewritten, _ = write_stack(root, name, document, terraform.aws_version)
        if point_remote_state(rewritten, url):
            (folder / "cdk.tf.json").write_text(json.dumps(rewritten, indent=2, sort_keys=True))
        write_override(folder, rewritten, url)
        runs[name] = StackRun(name, folder, rewritten, list((dependencies or {}).get(name, [])))

    def init(run: StackRun):
        terraform.init(run.folder)

    _each(runs.values(), init)
    return runs


def manifest_dependencies(outdir: Path) -> dict[str, list[str]]:
    manifest = json.loads((Path(outdir) / "manifest.json").read_text())
    return {name: list(stack.get("dependencies") or []) for name, stack in manifest["stacks"].items()}


def _each(items, fn) -> None:
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for future in [pool.submit(fn, item) for item in items]:
            future.result()


_PLAN_SUMMARY = re.compile(r"Plan: (\d+) to add, (\d+) to change, (\d+) to destroy")


def apply_all(terraform, runs: dict[str, StackRun], backend: str) -> None:
    """``terraform apply`` wave by wave; a stack whose dependency failed is not applied."""
    for wave in waves(runs):
        def apply(name: str):
            run = runs[name]
            failed = [d for d in run.dependencies if runs[d].applied is None]
            if failed:
                run.errors.append(f"not applied: {failed} failed")
                return
            result = terraform.run(run.folder, "apply", *APPLY)
            row = REPORT.row(f"apply/{name}", backend)
            row.apply_s = result.seconds
            if result.returncode:
                run.errors.append(_failure(result))
                return
            run.applied = row.applied = resource_count(run.document)
        _each(wave, apply)


CDKTF_CLI = ("npx", "--yes", "cdktf-cli@0.21")
"""The CLI README tells users to deploy with (npm downloads it once, then it is cached)."""


def deploy_with_cli(terraform, root: Path, runs: dict[str, StackRun], manifest: Path, backend: str) -> None:
    """``cdktf deploy`` of every stack, as README says, on the scratch copies:
    ``--skip-synth`` (synthesizing again would overwrite the rewritten copy and the
    override), ``--skip-provider-lock`` (locking asks the registry for other platforms),
    the harness's CLI config in the environment, :data:`WORKERS` stacks at a time in the CLI's own
    dependency order (from ``manifest.json``)."""
    root = Path(root)
    (root / "cdktf.out" / "manifest.json").write_text(Path(manifest).read_text())
    (root / "cdktf.json").write_text(json.dumps({"language": "python", "app": "true"}))
    env = {**terraform.env, "CDKTF_DISABLE_PLUGIN_CACHE_ENV": "true", "CI": "1", "CDKTF_LOG_LEVEL": "warn",
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    args = [*CDKTF_CLI, "deploy", *sorted(runs), "--skip-synth", "--skip-provider-lock", "--auto-approve",
            "--no-color", "--parallelism", str(WORKERS), "--terraform-parallelism", "10", "--output", "cdktf.out"]
    start = time.monotonic()
    result = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=3600)
    REPORT.phase(f"cdktf deploy (npx cdktf-cli@0.21) of {len(runs)} stacks ({backend})", time.monotonic() - start)
    (root / "cdktf-deploy.log").write_text(result.stdout + result.stderr)
    for name, run in runs.items():
        if result.returncode:
            run.errors.append(f"cdktf deploy exited {result.returncode}:\n" + (result.stdout + result.stderr)[-4000:])
        else:
            run.applied = REPORT.row(f"apply/{name}", backend).applied = resource_count(run.document)


def _failure(result) -> str:
    try:
        result.check()
    except AssertionError as error:
        return str(error)
    return ""


def replan_all(terraform, runs: dict[str, StackRun], backend: str) -> None:
    """``terraform plan -detailed-exitcode`` of every applied stack: exit 0 is no
    changes, 2 is changes (their count and the plan's change lines are kept)."""
    def plan(run: StackRun):
        if run.applied is None:
            return
        result = terraform.run(run.folder, "plan", "-detailed-exitcode", "-no-color", "-input=false")
        if result.returncode not in (0, 2):
            run.errors.append(_failure(result))
            return
        summary = _PLAN_SUMMARY.search(result.stdout)
        run.replan = 0 if result.returncode == 0 else sum(map(int, summary.groups())) if summary else -1
        run.replan_output = "" if result.returncode == 0 else _changes(result.stdout)
        REPORT.row(f"apply/{run.name}", backend).replan_changes = run.replan
    _each(runs.values(), plan)


def _changes(plan: str) -> str:
    keep = [line for line in plan.splitlines() if re.match(r"\s*([~+-]|# \S+ (will|must)|Plan:)", line)]
    return "\n".join(keep[:80])


def unprotect(run: StackRun) -> int:
    """Set ``lifecycle.prevent_destroy = false`` on every protected resource of the
    scratch copy (the operator's explicit step before destroying retained volumes);
    returns how many."""
    count = 0
    for items in (run.document.get("resource") or {}).values():
        for body in items.values():
            lifecycle = body.get("lifecycle") or {}
            if lifecycle.get("prevent_destroy"):
                lifecycle["prevent_destroy"] = False
                count += 1
    if count:
        (run.folder / "cdk.tf.json").write_text(json.dumps(run.document, indent=2, sort_keys=True))
    return count


def destroy_all(terraform, runs: dict[str, StackRun], backend: str) -> None:
    """Unprotect, then ``terraform destroy`` in reverse dependency order."""
    for wave in reversed(waves(runs)):
        def destroy(name: str):
            run = runs[name]
            lifted = unprotect(run)
            start = time.monotonic()
            result = terraform.run(run.folder, "destroy", *APPLY)
            run.destroyed = "ok" if result.returncode == 0 else "FAILED"
            row = REPORT.row(f"apply/{name}", backend)
            row.destroy, row.destroy_s = run.destroyed + (f" (unprotected {lifted})" if lifted else ""), time.monotonic() - start
            if result.returncode:
                run.errors.append(_failure(result))
        _each(wave, destroy)


def cycle(terraform, runs: dict[str, StackRun], backend: str, after_apply=None, apply=None) -> None:
    """Apply (``apply()`` if given, e.g. :func:`deploy_with_cli`; else :func:`apply_all`),
    ``after_apply()``, re-plan, destroy; every stack's problems are in
    :meth:`StackRun.problems` afterwards."""
    try:
        (apply or (lambda: apply_all(terraform, runs, backend)))()
        if after_apply and all(run.applied is not None for run in runs.values()):
            after_apply()
        replan_all(terraform, runs, backend)
    finally:
        destroy_all(terraform, runs, backend)
