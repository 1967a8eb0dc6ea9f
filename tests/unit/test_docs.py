"""Docs that cannot drift: generated tables are current, every option is described."""

from pathlib import Path

from constructs_substrate import docgen

ROOT = Path(__file__).resolve().parents[2]


def test_every_public_field_is_documented():
    assert docgen.undocumented() == []


def test_configuration_reference_is_current():
    current = (ROOT / "docs" / "configuration.md").read_text()
    assert current == docgen.render(), "run: python -m constructs_substrate.docgen > docs/configuration.md"


def test_readme_has_exactly_the_two_setup_commands():
    readme = (ROOT / "README.md").read_text().splitlines()
    commands = [line for line in readme if line.startswith("bash scripts/")]
    assert commands == ["bash scripts/synth.sh", "bash scripts/test.sh"]
