"""A node with an Elastic IP is launched without a public IPv4 of its own (issue 12
item 9), so the only address run-node can read from the instance metadata, and
announce, is the Elastic IP; and that setting never replaces the node on a later plan.

terraform-provider-aws: ``associate_public_ip_address`` is ``ForceNew`` and is read
back as ``primaryNetworkInterface.Association != nil`` (true once the Elastic IP is
associated), so without ``ignore_changes`` every plan would replace the instance
(hashicorp/terraform-provider-aws#37318; in-place updates are PR #45850, not merged).
"""

from __future__ import annotations

import pytest
from helpers import only, synth

from constructs_substrate import NodeConfig, SubstrateNode

SUBNET = "subnet-0123456789abcdef0"


def instance(**config) -> dict:
    document = synth(lambda stack: SubstrateNode(stack, "node", config=NodeConfig(**config), subnet_id=SUBNET))
    return only(document, "aws_instance")


@pytest.mark.parametrize("config", [
    {"role": "validator", "name": "val-1"},
    {"role": "bootnode", "name": "boot-1"},
    {"role": "rpc", "name": "rpc-1", "elastic_ip": True},
])
def test_elastic_ip_nodes_get_no_public_ip_of_their_own(config):
    found = instance(**config)
    assert found["associate_public_ip_address"] is False
    assert "associate_public_ip_address" in found["lifecycle"]["ignore_changes"]


def test_nodes_without_an_elastic_ip_keep_the_subnet_default():
    found = instance(role="rpc", name="rpc-1")
    assert "associate_public_ip_address" not in found
    assert "associate_public_ip_address" not in found.get("lifecycle", {}).get("ignore_changes", [])
