"""docs/security.md cannot drift: its skip table is the skip file and its hardening
table is what systemd-analyze measures now."""

from __future__ import annotations

import pytest

import hardening
from checkov_gate import load_skips, skips_markdown
from invariants import INVARIANTS
from security_doc import DOC, REGENERATE, block


def test_skip_table_matches_the_skip_file():
    assert block(DOC.read_text(), "checkov-skips") == skips_markdown(load_skips()), REGENERATE


@pytest.mark.slow
def test_hardening_table_matches_the_measured_scores(unit_scores):
    assert block(DOC.read_text(), "hardening") == hardening.scores_markdown(unit_scores), REGENERATE


def test_every_invariant_is_documented():
    text = DOC.read_text()
    missing = [name for name in INVARIANTS if f"`{name}`" not in text]
    assert not missing, f"docs/security.md does not describe {missing}"
