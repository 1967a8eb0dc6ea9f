"""Gate: every stack of every app holds every invariant of ``invariants.py``, and
every app synthesizes to byte-identical output twice (different hash seeds)."""

from __future__ import annotations

from collections import Counter

import pytest

from invariants import INVARIANTS, ingress_rules
from synthesis import DETERMINISM_VARIANT, VARIANTS, all_resources, discover_apps, rendered_user_data, text_table, tree_differences

pytestmark = pytest.mark.slow

APPS = discover_apps()
CASES = [(app, variant) for app in APPS for variant in VARIANTS]


@pytest.mark.parametrize("invariant", sorted(INVARIANTS))
@pytest.mark.parametrize("app,variant", CASES)
def test_invariant(synthesis_of, app, variant, invariant):
    run = synthesis_of(app, variant)
    violations = [f"{stack}: {v}" for stack, document in run.stacks.items() for v in INVARIANTS[invariant](document)]
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("app", APPS)
def test_synthesis_is_deterministic(synthesized, synthesis_of, app):
    first, second = synthesis_of(app, DETERMINISM_VARIANT), synthesized[1][app]
    assert second.returncode == 0, second.output[-3000:]
    differences = tree_differences(first.outdir, second.outdir)
    assert not differences, f"{app}: two synths differ:\n  " + "\n  ".join(differences)


def test_apps_exist_and_report_what_the_invariants_read(synthesized, gate_report):
    """Not vacuous: say what each app gave the invariants to check."""
    assert APPS, "no app in apps/"
    rows = []
    for (app, variant), run in sorted(synthesized[0].items()):
        counts: Counter = Counter()
        for document in run.stacks.values():
            kinds = Counter(kind for kind, _, _ in all_resources(document))
            counts.update(resources=sum(kinds.values()), instances=kinds["aws_instance"],
                          templates=kinds["aws_launch_template"], buckets=kinds["aws_s3_bucket"],
                          rules=len(list(ingress_rules(document))), user_data=len(list(rendered_user_data(document))))
        rows.append((app, variant, len(run.stacks), counts["resources"], counts["instances"], counts["templates"],
                     counts["rules"], counts["buckets"], counts["user_data"], f"{run.seconds:.1f}"))
    header = ("app", "variant", "stacks", "resources", "instances", "launch templates", "ingress rules",
              "buckets", "user data", "synth s")
    lines = text_table(header, rows)
    gate_report["invariants: what each app gave them"] = "\n".join(lines)
    for (app, variant), run in synthesized[0].items():
        if run.returncode == 0:
            assert any(document.get("resource") for document in run.stacks.values()), f"{app}[{variant}]: no resources"
