"""Scripts inside resource arguments reach AWS byte for byte: Terraform itself evaluates
the escaped text (no provider needed) and prints it back unchanged."""

from __future__ import annotations

import json

import pytest

from constructs_substrate import NodeConfig
from constructs_substrate import upgrade
from constructs_substrate.terraform_text import literal

SAMPLES = {
    "interpolation": 'if [ -z "${SSM_x+x}" ]; then echo "${HOME}"; fi',
    "directive": "printf '%{http_code}' && echo %%{kept}",
    "escaped already": "$${not} and %%{this}",
    "dollars without braces": "$HOME $1 $$ %s 100%",
}


@pytest.fixture(scope="module")
def evaluated(terraform, tmp_path_factory) -> dict[str, str]:
    """What Terraform makes of every sample and of the real upgrade document."""
    texts = {**SAMPLES, "upgrade document": upgrade.upgrade_document(NodeConfig(role="validator", name="v"))}
    workdir = tmp_path_factory.mktemp("literal")
    outputs = {f"o{i}": {"value": literal(text)} for i, text in enumerate(texts.values())}
    (workdir / "main.tf.json").write_text(json.dumps({"output": outputs}))
    terraform.init(workdir, backend=False)
    terraform.run(workdir, "apply", "-auto-approve", "-input=false", "-no-color").check()
    values = json.loads(terraform.run(workdir, "output", "-json").check().stdout)
    return {name: values[f"o{i}"]["value"] for i, name in enumerate(texts)}


@pytest.mark.parametrize("name", [*SAMPLES, "upgrade document"])
def test_terraform_keeps_the_text_as_written(evaluated, name):
    expected = SAMPLES.get(name) or upgrade.upgrade_document(NodeConfig(role="validator", name="v"))
    assert evaluated[name] == expected


def test_without_the_escape_terraform_refuses_the_document(terraform, tmp_path):
    (tmp_path / "main.tf.json").write_text(json.dumps({"output": {"o": {"value": SAMPLES["interpolation"]}}}))
    terraform.init(tmp_path, backend=False)
    assert terraform.run(tmp_path, "validate", "-no-color").returncode != 0
