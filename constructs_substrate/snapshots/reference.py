"""The option table of ``docs/snapshot-source.md``, generated from the model (the same
table format as ``docs/autoscaling-api-cluster.md``) so the defaults cannot drift.

    python -m constructs_substrate.snapshots.reference   # rewrites the table in the doc

``tests/snapshots/test_snapshot_docs.py`` fails when it is stale or a field lacks a
description with its default.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..cluster.reference import model_table
from .config import SnapshotSourceConfig

MODELS = (SnapshotSourceConfig,)
DOC = Path(__file__).resolve().parents[2] / "docs" / "snapshot-source.md"
BEGIN = "<!-- options:begin (generated: python -m constructs_substrate.snapshots.reference) -->"
END = "<!-- options:end -->"


def with_tables(document: str) -> str:
    """``document`` with the text between the markers replaced by a fresh table."""
    lines = [BEGIN, ""] + [line for model in MODELS for line in model_table(model)] + [END]
    start, end = document.index(BEGIN), document.index(END) + len(END)
    return document[:start] + "\n".join(lines) + document[end:]


def undocumented() -> list[str]:
    return [f"{model.__name__}.{name}" for model in MODELS for name, field in model.model_fields.items()
            if not (field.description or "").strip() or (not field.is_required() and "Default" not in field.description)]


if __name__ == "__main__":
    DOC.write_text(with_tables(DOC.read_text()))
    sys.stdout.write(f"updated {DOC}\n")
