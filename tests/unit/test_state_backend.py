"""Terraform state backend of the app stacks (constructs_substrate/stacks.py).

Runs on whichever framework the pass selects (CONSTRUCTS_SUBSTRATE_FRAMEWORK=cdktf, then
=cdktn): cdktf 0.21's S3Backend has no ``use_lockfile`` argument (synthesis crashed with
``TypeError`` before), cdktn 0.24's has one; both must render the same backend block.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from constructs_substrate import ConfigError
from constructs_substrate._framework import App, SynthTesting, aws
from constructs_substrate.settings import DeploymentSettings, load_settings
from constructs_substrate.stacks import LOCKFILE_TERRAFORM, region_stack

REGIONS = ("eu-central-1", "us-east-1", "ap-southeast-1", "sa-east-1")


def _terraform_blocks(settings: DeploymentSettings | None) -> dict[str, dict]:
    app = App(stack_traces=False)
    blocks = {}
    for region in REGIONS:
        stack, _ = region_stack(app, f"dot-{region}", region, {"chain": "dot"}, settings)
        blocks[region] = json.loads(SynthTesting.synth(stack))
    return blocks


@pytest.mark.parametrize("prefix,key", [("", "dot-{region}.tfstate"), ("substrate/prod", "substrate/prod/dot-{region}.tfstate")])
def test_one_bucket_in_one_region_for_stacks_of_every_region(prefix, key):
    settings = DeploymentSettings(state_bucket="example-org-tf-state", state_region="eu-west-1", state_key_prefix=prefix)
    for region, document in _terraform_blocks(settings).items():
        assert document["provider"]["aws"][0]["region"] == region  # the stack deploys to its region...
        terraform = document["terraform"]
        assert terraform["backend"] == {
            "s3": {
                "bucket": "example-org-tf-state",
                "key": key.format(region=region),
                "region": "eu-west-1",  # ...its state lives in the bucket's region
                "encrypt": True,
                "use_lockfile": True,
            }
        }
        assert terraform["required_version"] == LOCKFILE_TERRAFORM


def test_state_region_defaults_to_us_east_1_and_env_still_works(monkeypatch):
    monkeypatch.setenv("SUBSTRATE_STATE_BUCKET", "example-org-tf-state")
    monkeypatch.delenv("SUBSTRATE_STATE_REGION", raising=False)
    monkeypatch.delenv("SUBSTRATE_STATE_KEY_PREFIX", raising=False)
    for region, document in _terraform_blocks(None).items():  # no settings: the environment
        backend = document["terraform"]["backend"]["s3"]
        assert (backend["bucket"], backend["region"], backend["key"]) == ("example-org-tf-state", "us-east-1", f"dot-{region}.tfstate")


def test_without_a_bucket_state_is_a_relative_local_file(monkeypatch):
    monkeypatch.delenv("SUBSTRATE_STATE_BUCKET", raising=False)
    for region, document in _terraform_blocks(DeploymentSettings()).items():
        assert document["terraform"]["backend"] == {"local": {"path": f"../../../terraform.dot-{region}.tfstate"}}
        assert "required_version" not in document["terraform"]


def test_cross_stack_references_read_state_from_the_state_region(tmp_path):
    """The global stack reads regional outputs through terraform_remote_state: that
    must point at the bucket's region too, not at the regional stack's region."""
    settings = DeploymentSettings(state_bucket="example-org-tf-state", state_region="eu-west-1")
    app = App(stack_traces=False, outdir=str(tmp_path))
    regional, provider = region_stack(app, "dot-ap-southeast-1", "ap-southeast-1", {}, settings)
    parameter = aws("ssm_parameter").SsmParameter(regional, "p", name="/dot/x", type="String", value="x", provider=provider)
    global_stack, provider = region_stack(app, "dot-global", "us-east-1", {}, settings)
    aws("ssm_parameter").SsmParameter(global_stack, "q", name="/dot/y", type="String", value=parameter.value, provider=provider)
    app.synth()
    document = json.loads((tmp_path / "stacks" / "dot-global" / "cdk.tf.json").read_text())
    (remote,) = document["data"]["terraform_remote_state"].values()
    assert remote["backend"] == "s3"
    assert remote["config"] == {
        "bucket": "example-org-tf-state", "key": "dot-ap-southeast-1.tfstate", "region": "eu-west-1", "encrypt": True,
    }


def test_synthesis_is_deterministic():
    settings = DeploymentSettings(state_bucket="example-org-tf-state", state_key_prefix="a/b")
    assert _terraform_blocks(settings) == _terraform_blocks(settings)


@pytest.mark.parametrize(
    "environ,field,hint",
    [
        ({"SUBSTRATE_STATE_BUCKET": "My_Bucket"}, "state_bucket", "lower-case"),
        ({"SUBSTRATE_STATE_BUCKET": "ab"}, "state_bucket", "3-63"),
        ({"SUBSTRATE_STATE_BUCKET": "a" * 64}, "state_bucket", "3-63"),
        ({"SUBSTRATE_STATE_BUCKET": "state..bucket"}, "state_bucket", "adjacent dots"),
        ({"SUBSTRATE_STATE_BUCKET": "192.168.1.10"}, "state_bucket", "IP address"),
        ({"SUBSTRATE_STATE_BUCKET": "xn--state"}, "state_bucket", "reserves"),
        ({"SUBSTRATE_STATE_BUCKET": "state-s3alias"}, "state_bucket", "reserves"),
        ({"SUBSTRATE_STATE_BUCKET": "s3://state"}, "state_bucket", "e.g."),
        ({"SUBSTRATE_STATE_REGION": "eu-moon-1"}, "state_region", "unknown AWS region"),
        ({"SUBSTRATE_STATE_KEY_PREFIX": "/abs"}, "state_key_prefix", "leading or trailing"),
        ({"SUBSTRATE_STATE_KEY_PREFIX": "dir/"}, "state_key_prefix", "leading or trailing"),
        ({"SUBSTRATE_STATE_KEY_PREFIX": "a b"}, "state_key_prefix", "substrate/prod"),
    ],
)
def test_bad_state_settings_name_the_field_and_the_fix(tmp_path, environ, field, hint):
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path, environ=environ)
    assert raised.value.fields == (f"DeploymentSettings.{field}",)
    assert hint in str(raised.value)


def test_good_bucket_names():
    for name in ("abc", "example-org-tf-state", "state.example.org", "a" * 63, "1state"):
        assert DeploymentSettings(state_bucket=name).state_bucket == name


def test_the_backend_block_in_docs_apps_md_is_what_synthesis_renders():
    text = (Path(__file__).resolve().parents[2] / "docs" / "apps.md").read_text()
    section = text[text.index("## Terraform state"):]
    documented = json.loads(re.search(r"```json\n(.*?)```", section, re.S).group(1))["terraform"]
    settings = DeploymentSettings(state_bucket="example-org-tf-state", state_key_prefix="substrate/prod")
    app = App(stack_traces=False)
    stack, _ = region_stack(app, "polkadot-ap-southeast-1", "ap-southeast-1", {}, settings)
    terraform = json.loads(SynthTesting.synth(stack))["terraform"]
    assert {k: terraform[k] for k in documented} == documented
