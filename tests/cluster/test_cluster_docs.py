"""docs/autoscaling-api-cluster.md cannot drift: its option tables are generated from
the models, and every option documents its default."""

from __future__ import annotations

from constructs_substrate.cluster import reference


def test_every_option_is_described_with_its_default():
    assert reference.undocumented() == []


def test_option_tables_are_current():
    current = reference.DOC.read_text()
    assert current == reference.with_tables(current), "run: python -m constructs_substrate.cluster.reference"


def test_every_model_has_a_table():
    text = reference.DOC.read_text()
    for model in reference.MODELS:
        assert f"### `{model.__name__}`" in text
        for name in model.model_fields:
            assert f"| `{name}` |" in text
