"""Block pruning, RPC abuse limits and per-instance names (issue 12, items 7, 10, 11).

The value grammar checked here is polkadot-sdk's own: ``DatabasePruningMode::from_str``
(sc-cli ``params/pruning_params.rs``: ``archive``, ``archive-canonical`` or a u32) and
``RpcEndpoint::from_str`` (sc-cli ``params/rpc_params.rs``: ``key=value`` pairs with a
fixed key set). With a ``polkadot`` binary on PATH (or ``POLKADOT_BIN``), every flag we
render must also appear in its ``--help``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from constructs_substrate.chains import CATALOG
from constructs_substrate.cluster.config import ApiClusterConfig, LoadBalancerConfig
from constructs_substrate.config import NodeConfig
from constructs_substrate.errors import ConfigError
from constructs_substrate.flags import node_args, probe_rpc_endpoint, public_rpc_endpoint

RPC_ENDPOINT_KEYS = {
    "listen-addr", "cors", "max-connections", "max-request-size", "max-response-size",
    "max-subscriptions-per-connection", "max-buffer-capacity-per-connection", "rate-limit",
    "rate-limit-trust-proxy-headers", "rate-limit-whitelisted-ips", "retry-random-port",
    "methods", "optional", "disable-batch-requests", "max-batch-request-len",
}
"""The keys sc-cli's ``RpcEndpoint::from_str`` accepts (anything else: "unknown key")."""
U32 = 2**32 - 1


def pruning_value_is_valid(value: str) -> bool:
    return value in ("archive", "archive-canonical") or (value.isdigit() and int(value) <= U32)


def endpoint_options(value: str) -> dict[str, str]:
    pairs = [part.split("=", 1) for part in value.split(",")]
    assert all(len(pair) == 2 for pair in pairs), value
    keys = [key for key, _ in pairs]
    assert set(keys) <= RPC_ENDPOINT_KEYS, value
    assert len(keys) == len(set(keys)), f"a key given twice is refused: {value}"
    return dict(pairs)


def flag_value(args: list[str], flag: str) -> str:
    own = args[: args.index("--")] if "--" in args else args
    return own[own.index(flag) + 1]


# ---- item 7: --blocks-pruning -------------------------------------------------------------


@pytest.mark.parametrize("role", ["validator", "rpc", "bootnode"])
def test_pruned_roles_prune_block_bodies_like_state(role):
    """Without --blocks-pruning the node keeps (and after warp sync backfills) every
    finalized body since genesis: polkadot-sdk's default is archive-canonical."""
    args = node_args(NodeConfig(role=role, name="n"))
    assert flag_value(args, "--state-pruning") == "1000"
    assert flag_value(args, "--blocks-pruning") == "1000"


def test_blocks_pruning_follows_state_pruning_and_can_be_set():
    assert flag_value(node_args(NodeConfig(role="rpc", name="n", state_pruning=4096)), "--blocks-pruning") == "4096"
    config = NodeConfig(role="rpc", name="n", blocks_pruning="archive-canonical")
    assert flag_value(node_args(config), "--blocks-pruning") == "archive-canonical"
    assert flag_value(node_args(NodeConfig(role="validator", name="n", blocks_pruning=20000)), "--blocks-pruning") == "20000"


def test_archive_keeps_every_block():
    args = node_args(NodeConfig(role="archive", name="n"))
    assert (flag_value(args, "--state-pruning"), flag_value(args, "--blocks-pruning")) == ("archive", "archive")
    assert NodeConfig(role="archive", name="n", blocks_pruning="archive").effective_blocks_pruning == "archive"


def test_embedded_relay_prunes_its_bodies_too():
    args = node_args(NodeConfig(role="rpc", name="n", chain="asset-hub-polkadot"))
    relay = args[args.index("--") + 1:]
    assert relay[relay.index("--blocks-pruning") + 1] == "1000"


@pytest.mark.parametrize("kwargs,fragment", [
    ({"role": "archive", "blocks_pruning": "archive-canonical"}, "keeps every block"),
    ({"role": "archive", "blocks_pruning": 100000}, "keeps every block"),
    ({"role": "rpc", "blocks_pruning": 256}, "at least 1000"),
    ({"role": "validator", "state_pruning": 5000, "blocks_pruning": 4999}, "at least 5000"),
    ({"role": "rpc", "blocks_pruning": "everything"}, "not a blocks pruning mode"),
    ({"role": "rpc", "blocks_pruning": True}, "not a blocks pruning mode"),
])
def test_bad_blocks_pruning_is_a_config_error(kwargs, fragment):
    with pytest.raises(ConfigError) as raised:
        NodeConfig(name="n", **kwargs)
    assert raised.value.fields[0] == "NodeConfig.blocks_pruning", raised.value
    assert fragment in str(raised.value)


def test_rendered_pruning_values_parse_as_the_node_parses_them():
    for config in (NodeConfig(role=r, name="n") for r in ("validator", "rpc", "archive", "bootnode")):
        args = node_args(config)
        assert pruning_value_is_valid(flag_value(args, "--state-pruning"))
        assert pruning_value_is_valid(flag_value(args, "--blocks-pruning"))


def test_default_volume_is_sized_from_blocks_pruning():
    sizes = CATALOG["polkadot"].db_size_gib
    pruned = NodeConfig(role="rpc", name="n")
    assert pruned.min_volume_gib == sizes.blocks_pruned < sizes.pruned
    assert pruned.volume_size_gib == -(-sizes.blocks_pruned * 3 // 2)
    keeps_bodies = NodeConfig(role="rpc", name="n", blocks_pruning="archive-canonical")
    assert keeps_bodies.min_volume_gib == sizes.pruned
    assert NodeConfig(role="archive", name="n").min_volume_gib == sizes.archive
    # A parachain node with an embedded relay: both databases prune bodies.
    para = NodeConfig(role="rpc", name="n", chain="asset-hub-polkadot")
    assert para.min_volume_gib == CATALOG["asset-hub-polkadot"].db_size_gib.blocks_pruned + sizes.blocks_pruned


# ---- item 10: RPC limits --------------------------------------------------------------------


def test_public_listener_is_rate_limited_and_sized_from_the_instance():
    config = NodeConfig(role="rpc", name="n")  # m7i.2xlarge: 8 vCPU, 32 GiB
    options = endpoint_options(public_rpc_endpoint(config))
    assert options["rate-limit"] == "1200"
    assert options["max-connections"] == "2000"
    assert options["max-subscriptions-per-connection"] == str(8192 * 32 // 2000)
    assert "rate-limit-trust-proxy-headers" not in options and "cors" not in options


@pytest.mark.parametrize("instance_type,connections,subscriptions", [
    ("m7i.xlarge", 1000, 131), ("c7i.2xlarge", 2000, 65), ("r7i.2xlarge", 2000, 262),
    ("r7i.xlarge", 1000, 262), ("m7i.16xlarge", 16000, 131),
])
def test_connection_and_subscription_limits_follow_vcpus_and_memory(instance_type, connections, subscriptions):
    config = NodeConfig(role="rpc", name="n", instance_type=instance_type)
    assert (config.rpc_max_connections, config.rpc_max_subscriptions_per_connection) == (connections, subscriptions)


def test_limits_can_be_raised_or_the_rate_limit_turned_off():
    config = NodeConfig(role="archive", name="n", rpc={
        "max_connections": 5000, "max_subscriptions_per_connection": 1024, "rate_limit_per_minute": None,
    })
    options = endpoint_options(public_rpc_endpoint(config))
    assert (options["max-connections"], options["max-subscriptions-per-connection"]) == ("5000", "1024")
    assert "rate-limit" not in options


@pytest.mark.parametrize("rpc", [{}, {"rate_limit_per_minute": 60}, {"rate_limit_per_minute": None}])
def test_probe_listener_is_never_rate_limited(rpc):
    config = NodeConfig(role="rpc", name="n", rpc=rpc)
    options = endpoint_options(probe_rpc_endpoint(config))
    assert options["listen-addr"].startswith("127.0.0.1:")
    assert not {key for key in options if key.startswith("rate-limit")}


def test_localhost_only_roles_render_no_rate_limit():
    for role in ("validator", "bootnode"):
        args = node_args(NodeConfig(role=role, name="n"))
        assert not [a for a in args if a.startswith("--rpc-rate-limit") or "rate-limit=" in a]


def test_every_public_alb_rate_limits_client_ips_by_default():
    assert LoadBalancerConfig().waf_rate_limit_per_5min == 3000
    assert LoadBalancerConfig(waf_rate_limit_per_5min=None).waf_rate_limit_per_5min is None


def test_spot_types_with_less_memory_are_refused():
    """The subscription limit is rendered from the node's type: a smaller spot type
    would get more subscriptions than its memory holds."""
    node = NodeConfig(role="rpc", name="n")  # m7i.2xlarge
    with pytest.raises(ConfigError) as raised:
        ApiClusterConfig(node=node, domain_name="rpc.example.com", zone_name="example.com",
                         hosted_zone_id="Z0123456789ABCDEFGHIJ", spot={"instance_types": ("c7i.2xlarge",)})
    assert "spot.instance_types" in raised.value.fields[0] and "subscription" in str(raised.value)


# ---- item 11: a unique --name per cluster instance --------------------------------------------


def test_cluster_node_name_leaves_room_for_the_instance_id():
    base = dict(domain_name="rpc.example.com", zone_name="example.com", hosted_zone_id="Z0123456789ABCDEFGHIJ")
    ApiClusterConfig(node=NodeConfig(role="rpc", name="x" * 43), **base)
    with pytest.raises(ConfigError) as raised:
        ApiClusterConfig(node=NodeConfig(role="rpc", name="x" * 44), **base)
    assert raised.value.fields[0].endswith("node.name") and "at most 43" in str(raised.value)


# ---- the real CLI, when there is one --------------------------------------------------------


def _polkadot() -> str | None:
    return os.environ.get("POLKADOT_BIN") or shutil.which("polkadot")


@pytest.mark.skipif(_polkadot() is None, reason="no polkadot binary (set POLKADOT_BIN); the grammar tests above still run")
@pytest.mark.parametrize("role", ["validator", "rpc", "archive", "bootnode"])
def test_every_rendered_flag_is_in_the_real_cli_help(role):
    help_text = subprocess.run([_polkadot(), "--help"], capture_output=True, text=True, check=True).stdout
    known = set(re.findall(r"--[a-z0-9-]+", help_text))
    args = node_args(NodeConfig(role=role, name="n"))
    assert {a for a in args if a.startswith("--") and a != "--"} <= known


@pytest.mark.parametrize("name", ["polkadot.rpc", "ops@example", "x" * 64])
def test_names_the_node_would_refuse_are_config_errors(name):
    """sc-cli ``is_node_name_valid``: fewer than 64 characters, no '.', '@' or '\\'."""
    with pytest.raises(ConfigError) as raised:
        NodeConfig(role="rpc", name=name)
    assert raised.value.fields[0] == "NodeConfig.name"


def test_the_longest_name_the_node_accepts_is_accepted():
    assert NodeConfig(role="rpc", name="x" * 63).name == "x" * 63


def test_restored_cluster_volumes_fit_data_that_keeps_every_body():
    """A public "prune" snapshot (or an EBS snapshot of a volume made before bodies were
    pruned) holds every block body, and pruning never drops old ones."""
    base = dict(node=NodeConfig(role="rpc", name="n"), domain_name="rpc.example.com", zone_name="example.com",
                hosted_zone_id="Z0123456789ABCDEFGHIJ")
    sizes = CATALOG["polkadot"].db_size_gib
    assert ApiClusterConfig(**base).data_volume_gib == -(-sizes.blocks_pruned * 3 // 2)
    restored = ApiClusterConfig(**base, snapshot={"ssm_parameter_name": "/substrate/polkadot/snapshot"})
    assert restored.data_volume_gib == -(-sizes.pruned * 3 // 2)
    pinned = ApiClusterConfig(**{**base, "node": NodeConfig(role="rpc", name="n", data_volume={"size_gib": 500})},
                              snapshot={"ssm_parameter_name": "/substrate/polkadot/snapshot"})
    assert pinned.data_volume_gib == 500
