"""The per-stack table the Terraform tests print at the end of the run (and write to
``$SUBSTRATE_TF_REPORT`` as Markdown when set): validate result, resources applied,
re-plan changes, destroy result and timings."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

COLUMNS = ("stack", "backend", "rewrites", "validate", "applied", "apply s", "re-plan changes", "destroy", "destroy s")
"""Validate time is per root configuration of many stacks: in the phases below the table."""


@dataclass
class Row:
    stack: str
    backend: str
    rewrites: str = ""
    validate: str = ""
    applied: int | None = None
    apply_s: float | None = None
    replan_changes: int | None = None
    destroy: str = ""
    destroy_s: float | None = None

    def cells(self) -> list[str]:
        fmt = lambda v: "" if v is None else (f"{v:.1f}" if isinstance(v, float) else str(v))  # noqa: E731
        return [fmt(getattr(self, name)) for name in
                ("stack", "backend", "rewrites", "validate", "applied", "apply_s", "replan_changes", "destroy", "destroy_s")]


@dataclass
class Report:
    rows: dict[str, Row] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)

    def row(self, stack: str, backend: str) -> Row:
        return self.rows.setdefault(f"{backend}:{stack}", Row(stack, backend))

    def phase(self, name: str, seconds: float) -> None:
        self.phases[name] = self.phases.get(name, 0.0) + seconds

    def markdown(self) -> str:
        lines = [
            f"Machine: {platform.node() or 'unknown'}, {os.cpu_count()} CPUs, {platform.platform()}; "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            "",
            "| " + " | ".join(COLUMNS) + " |",
            "|" + " --- |" * len(COLUMNS),
        ]
        lines += ["| " + " | ".join(row.cells()) + " |" for row in self.rows.values()]
        if self.phases:
            lines += ["", "| phase | wall s |", "| --- | --- |"]
            lines += [f"| {name} | {seconds:.1f} |" for name, seconds in self.phases.items()]
        return "\n".join(lines)

    def write(self) -> None:
        target = os.environ.get("SUBSTRATE_TF_REPORT")
        if target and self.rows:
            Path(target).write_text(self.markdown() + "\n")


REPORT = Report()
"""One per test session (filled by the tests, printed by ``conftest.py``)."""
