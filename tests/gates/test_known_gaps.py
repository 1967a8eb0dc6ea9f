"""Inputs the configuration still accepts but should refuse, found by the fuzzer.

Each is a strict ``xfail``: it documents the gap today and turns into a failure
(XPASS) the day ``config.py`` refuses the input, so the marker is removed then and
the input can join the fuzzer's strategies. The fixes belong to ``config.py`` /
``release.py`` (see docs/security.md, "Known gaps").
"""

from __future__ import annotations

import pytest

from constructs_substrate import BinaryRelease, ConfigError, NodeConfig

GAP = pytest.mark.xfail(strict=True, raises=AssertionError, reason="known gap in config validation (docs/security.md)")


def refused(**kwargs) -> bool:
    try:
        NodeConfig(**{"role": "rpc", "name": "rpc-1", **kwargs})
    except ConfigError:
        return True
    return False


@GAP
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


@GAP
@pytest.mark.parametrize("cidrs", [("8.8.8.0/24",), ("0.0.0.0/1", "128.0.0.0/1")])
def test_rpc_ingress_refuses_public_networks(cidrs):
    assert refused(rpc={"ingress_cidrs": cidrs}), f"RPC opened to {cidrs}"


@GAP
@pytest.mark.parametrize("kwargs", [
    {"monitoring": {"security_group_id": "not-a-security-group"}},
    {"monitoring": {"cidrs": ("8.8.8.0/24",)}},
    {"data_volume": {"kms_key_arn": "not-an-arn"}},
    {"dns": {"zone_id": "", "name": "rpc.example.com"}},
], ids=["monitoring-sg", "monitoring-public-cidr", "kms-arn", "zone-id"])
def test_ids_and_sources_are_validated(kwargs):
    assert refused(**kwargs), f"{kwargs} was accepted"


@GAP
def test_model_wide_problems_name_a_field():
    with pytest.raises(ConfigError) as raised:
        BinaryRelease(version="v1", artifacts=({"name": "node", "url": "https://example.com/node"},))
    assert all(p.field for p in raised.value.problems), raised.value.problems
