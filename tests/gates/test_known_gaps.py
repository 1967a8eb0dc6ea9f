"""Inputs the fuzzer found accepted that must be refused: keys and secrets on the
command line, public networks on RPC or metrics, malformed ids, and model-wide
problems without a field name. Each was a known gap, now closed in ``config.py`` /
``release.py``; these tests keep it closed."""

from __future__ import annotations

import pytest

from constructs_substrate import BinaryRelease, ConfigError, NodeConfig



def refused(**kwargs) -> bool:
    try:
        NodeConfig(**{"role": "rpc", "name": "rpc-1", **kwargs})
    except ConfigError:
        return True
    return False


@pytest.mark.parametrize("arg", [
    "--alice",  # inserts a well-known development key (and implies --validator)
    "--dev",  # development chain, --alice, --tmp
    "--tmp",  # the database in a temporary directory, lost on restart
    "--force-authoring",
    "--password=hunter22",  # a keystore password in the user data, so in Terraform state
    "--keystore-uri=http://10.0.0.5:8080",  # session keys held by a remote keystore
    "--listen-addr=/ip4/0.0.0.0/tcp/9944",  # p2p listening on the RPC port, bypassing NodePorts
])
def test_extra_args_refuse_keys_secrets_and_listen_overrides(arg):
    assert refused(extra_args=(arg,)), f"{arg} was accepted"


@pytest.mark.parametrize("cidrs", [("8.8.8.0/24",), ("0.0.0.0/1", "128.0.0.0/1")])
def test_rpc_ingress_refuses_public_networks(cidrs):
    assert refused(rpc={"ingress_cidrs": cidrs}), f"RPC opened to {cidrs}"


@pytest.mark.parametrize("kwargs", [
    {"monitoring": {"security_group_id": "not-a-security-group"}},
    {"monitoring": {"cidrs": ("8.8.8.0/24",)}},
    {"data_volume": {"kms_key_arn": "not-an-arn"}},
    {"dns": {"zone_id": "", "name": "rpc.example.com"}},
], ids=["monitoring-sg", "monitoring-public-cidr", "kms-arn", "zone-id"])
def test_ids_and_sources_are_validated(kwargs):
    assert refused(**kwargs), f"{kwargs} was accepted"


def test_model_wide_problems_name_a_field():
    with pytest.raises(ConfigError) as raised:
        BinaryRelease(version="v1", artifacts=({"name": "node", "url": "https://example.com/node"},))
    assert all(p.field for p in raised.value.problems), raised.value.problems
