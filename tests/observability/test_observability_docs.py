"""docs/observability.md is generated from the definitions and must be current."""

from pathlib import Path

from constructs_substrate.observability import docs
from constructs_substrate.observability.grafana import dashboard_panels
from constructs_substrate.observability.rules import alert_rules

DOC = Path(__file__).resolve().parents[2] / "docs" / "observability.md"


def test_doc_is_current():
    assert DOC.read_text() == docs.render(), (
        "run: python -m constructs_substrate.observability.docs > docs/observability.md"
    )


def test_doc_lists_every_alert_with_runbook_and_every_panel():
    text = DOC.read_text()
    for rule in alert_rules(docs.EXAMPLE_THRESHOLDS, docs.EXAMPLE_EXPECTED_NODES):
        assert f"[`{rule.name}`](#runbook-{rule.name.lower()})" in text
        assert f"### Runbook: {rule.name}\n\n{rule.runbook}\n" in text
    for _, panel in dashboard_panels():
        assert f"| {panel.title} |" in text
    for heading in ("## On every node: the agents", "### Why these two agents", "### Logs", "## Synthetic checks", "## Status page"):
        assert heading in text
