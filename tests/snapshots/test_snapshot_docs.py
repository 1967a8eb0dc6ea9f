"""docs/snapshot-source.md cannot drift: its option table is generated from the model,
every option documents its default, and its Python example runs."""

from __future__ import annotations

import re

from constructs_substrate.snapshots import reference


def test_every_option_is_described_with_its_default():
    assert reference.undocumented() == []


def test_option_table_is_current():
    current = reference.DOC.read_text()
    assert current == reference.with_tables(current), "run: python -m constructs_substrate.snapshots.reference"


def test_the_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", reference.DOC.read_text(), flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, str(reference.DOC), "exec"), {})
