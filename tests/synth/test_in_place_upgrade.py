"""A release bump of a single node is applied in place, never by replacing the instance.

Plan level: the user data is ignored by Terraform (``lifecycle.ignore_changes``) with
``user_data_replace_on_change`` false, so a changed pin plans no replacement and no
stop/start (the provider documents that a user data change stops and starts the
instance when it does not replace it); what changes is the upgrade document's default
and the instance's ``substrate:bootstrap`` tag (an in-place tag update).
"""

from __future__ import annotations

import json

import pytest
from helpers import only, resources, synth

from constructs_substrate import ConfigError, NodeConfig, SubstrateNode
from constructs_substrate.chains import CATALOG
from constructs_substrate.node import BOOTSTRAP_TAG

SUBNET = "subnet-0123456789abcdef0"


def node(role: str, tag: str | None = None, **kwargs) -> dict:
    chain = CATALOG["polkadot"]
    if tag is not None:
        chain = chain.replace(release=chain.release.replace(version=tag))
    config = NodeConfig(role=role, name=f"{role}-1", chain=chain)
    return synth(lambda stack: SubstrateNode(stack, "node", config=config, subnet_id=SUBNET, **kwargs))


def documents(document: dict) -> dict[str, dict]:
    return {d["name"].rsplit("-", 2)[-2]: json.loads(d["content"]) for d in resources(document, "aws_ssm_document").values()
            if d["name"].endswith("-release")}


@pytest.mark.parametrize("role", ["validator", "rpc", "archive", "bootnode"])
def test_a_release_bump_changes_the_document_not_the_instance(role):
    before, after = node(role), node(role, tag="polkadot-stable2612-1")
    old, new = only(before, "aws_instance"), only(after, "aws_instance")
    assert old["user_data_base64"] != new["user_data_base64"]  # the rendered bootstrap did change
    for instance in (old, new):
        assert instance["user_data_replace_on_change"] is False
        assert "user_data_base64" in instance["lifecycle"]["ignore_changes"]
    # Everything Terraform does not ignore is equal but the tag that reports the change.
    ignored = {"user_data_base64", "tags"}
    assert {k: v for k, v in old.items() if k not in ignored} == {k: v for k, v in new.items() if k not in ignored}
    assert old["tags"][BOOTSTRAP_TAG] != new["tags"][BOOTSTRAP_TAG]
    assert documents(after)["upgrade"]["parameters"]["releaseVersion"]["default"] == "polkadot-stable2612-1"
    assert documents(before)["upgrade"]["parameters"]["releaseVersion"]["default"] != "polkadot-stable2612-1"
    assert set(documents(after)) == {"upgrade", "rollback"}
    for output in ("upgrade_document", "rollback_document"):
        assert any(output in key for key in after["output"]), after["output"].keys()


def test_replacement_when_asked_for():
    document = node("validator", replace_on_bootstrap_change=True)
    instance = only(document, "aws_instance")
    assert instance["user_data_replace_on_change"] is True
    assert "user_data_base64" not in instance["lifecycle"]["ignore_changes"]
    assert "ami" in instance["lifecycle"]["ignore_changes"]


def test_the_option_takes_a_bool():
    with pytest.raises(ConfigError, match="replace_on_bootstrap_change"):
        node("validator", replace_on_bootstrap_change="yes")


def test_the_telemetry_server_has_no_release_documents():
    tls = {"domain": "telemetry.example.com", "email": "ops@example.com"}
    images = {"backend_image": "docker.io/parity/substrate-telemetry-backend@sha256:" + "ab" * 32,
              "frontend_image": "docker.io/parity/substrate-telemetry-frontend@sha256:" + "ab" * 32}
    config = NodeConfig(role="telemetry", name="tel-1", tls=tls, telemetry_server=images)
    document = synth(lambda stack: SubstrateNode(stack, "node", config=config, subnet_id=SUBNET))
    assert documents(document) == {}
