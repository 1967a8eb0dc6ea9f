"""Fuzzing the configuration: any input either builds a correct node or raises
``ConfigError`` naming the field, never another exception or a silently wrong stack.

Two properties:

- config only (many examples, no synthesis): building every model either raises
  ``ConfigError`` or gives a config whose derived values, node flags and rendered
  bootstrap can all be computed and respect the secure defaults;
- ``SubstrateNode`` (few examples, each synthesized): ``ConfigError``, or a stack
  that passes every invariant of ``invariants.py`` and says what the config says
  (instance type, open ports, volume, Elastic IP, DNS, tags).

Derandomized so CI runs the same examples every time; no example database is kept.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

import strategies as s
from invariants import check_all
from synthesis import booted_files, rendered_user_data
from constructs_substrate import (
    Artifact, BinaryRelease, Chain, ConfigError, DataVolumeConfig, DnsConfig, MonitoringAccess,
    NodeConfig, NodePorts, RpcConfig, TelemetryServerConfig, TlsConfig,
)
from constructs_substrate.bootstrap import USER_DATA_LIMIT, render_bootstrap
from constructs_substrate.chains import ChainSpecSource, DbSizes
from constructs_substrate.flags import node_args
from constructs_substrate.roles import NodeRole

pytestmark = pytest.mark.slow

NESTED = {
    "data_volume": DataVolumeConfig, "rpc": RpcConfig, "monitoring": MonitoringAccess, "dns": DnsConfig,
    "tls": TlsConfig, "telemetry_server": TelemetryServerConfig, "ports": NodePorts,
}
DEV_KEY_FLAGS = ("--alice", "--bob", "--charlie", "--dave", "--eve", "--ferdie", "--one", "--two", "--dev")
"""Flags that put well-known development keys in the keystore (or imply them)."""


def build_chain(kwargs: dict, as_objects: bool) -> Chain:
    if as_objects:
        release = dict(kwargs.get("release", {}))
        if "artifacts" in release:
            release["artifacts"] = tuple(Artifact(**a) for a in release["artifacts"])
        kwargs = {**kwargs, "release": BinaryRelease(**release)}
        if "db_size_gib" in kwargs:
            kwargs["db_size_gib"] = DbSizes(**kwargs["db_size_gib"])
        if kwargs.get("chain_spec") is not None:
            kwargs["chain_spec"] = ChainSpecSource(**kwargs["chain_spec"])
        if kwargs.get("ports") is not None:
            kwargs["ports"] = NodePorts(**kwargs["ports"])
    return Chain(**kwargs)


def build_config(kwargs: dict[str, Any], as_objects: bool) -> NodeConfig:
    """NodeConfig from drawn kwargs; nested models as objects or as dicts."""
    kwargs = dict(kwargs)
    chain = kwargs.get("chain")
    if isinstance(chain, tuple) and chain[0] == "Chain":
        kwargs["chain"] = build_chain(chain[1], as_objects)
    if as_objects:
        for name, model in NESTED.items():
            if isinstance(kwargs.get(name), dict):
                kwargs[name] = model(**kwargs[name])
    return NodeConfig(**kwargs)


def check_error(error: ConfigError) -> None:
    assert error.problems, "a ConfigError must list its problems"
    for problem in error.problems:
        # A model-wide rule may name no single field; the model is named then.
        assert problem.message and (problem.field or error.model), problem


def check_config(config: NodeConfig) -> None:
    """Everything derived from a valid config can be computed and is secure."""
    profile = config.profile
    assert config.effective_instance_type and config.volume_size_gib >= config.min_volume_gib
    assert config.rpc_max_connections >= 1
    args = node_args(config)
    own = args[: args.index("--")] if "--" in args else args
    flags = [a.split("=", 1)[0] for a in own]
    if profile.runs_chain_node and profile.rpc_external:
        # Two listeners (docs/probe.md): public on all interfaces and the probe's on
        # localhost, both safe methods only; the single-listener flags are absent.
        endpoints = [own[i + 1] for i, a in enumerate(own) if a == "--experimental-rpc-endpoint"]
        assert [e.split(",")[0].split("=")[1].split(":")[0] for e in endpoints] == ["0.0.0.0", "127.0.0.1"], args
        assert all(",methods=safe," in e and "cors" not in e for e in endpoints), args
        assert not {"--rpc-methods", "--unsafe-rpc-external", "--rpc-external", "--rpc-port"} & set(flags), args
    if profile.runs_chain_node:
        if not profile.rpc_external:
            assert own[own.index("--rpc-methods") + 1] == ("unsafe" if config.role is NodeRole.VALIDATOR else "safe")
            assert not {"--unsafe-rpc-external", "--rpc-external"} & set(flags), args
            assert flags.count("--rpc-methods") == 1, args
        assert flags.count("--chain") == 1, args
        assert ("--validator" in flags) == (config.role is NodeRole.VALIDATOR), args
        assert not set(flags) & set(DEV_KEY_FLAGS), f"well-known development keys: {args}"
    else:
        assert args == []
    bootstrap = render_bootstrap(config)
    assert bootstrap.gzip_size() <= USER_DATA_LIMIT


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(kwargs=s.node_config(), as_objects=st.booleans())
def test_any_config_is_valid_or_a_config_error(kwargs, as_objects):
    try:
        config = build_config(kwargs, as_objects)
    except ConfigError as error:
        check_error(error)
        event(f"ConfigError ({error.fields[0]})")
        return
    event(f"valid {config.role.value}")
    try:
        check_config(config)
    except ConfigError as error:  # e.g. user data over 16 KiB: still a clean refusal
        check_error(error)
        event("ConfigError after building (bootstrap)")


# ---- synthesized -----------------------------------------------------------------

SUBNET = "subnet-0123456789abcdef0"
_IMAGE = "docker.io/parity/substrate-telemetry-{}:v1@sha256:" + "c" * 64
ROLE_EXAMPLES = [
    {"role": "validator", "name": "val-1"},
    {"role": "rpc", "name": "rpc-1", "rpc": {"ingress_cidrs": ("10.0.0.0/16",)},
     "monitoring": {"security_group_id": "sg-0123456789abcdef0", "cidrs": ("10.1.0.0/24",)}},
    {"role": "archive", "name": "arc-1", "tls": {"domain": "arc.example.com", "email": "ops@example.com", "challenge": "dns-01"},
     "dns": {"zone_id": "Z0123456789", "name": "arc.example.com"}},
    {"role": "bootnode", "name": "boot-1", "ports": {"p2p": 30433}},
    {"role": "rpc", "name": "ah-1", "chain": "asset-hub-kusama", "tls": {"domain": "ah.example.com", "email": "ops@example.com"}},
    {"role": "telemetry", "name": "tel-1", "tls": {"domain": "tel.example.com", "email": "ops@example.com"},
     "telemetry_server": {"backend_image": _IMAGE.format("backend"), "frontend_image": _IMAGE.format("frontend")}},
]


def expected_public(config: NodeConfig) -> set[tuple[int, str]]:
    """(port, protocol) open to the internet, derived from the config alone."""
    ports, opened = config.effective_ports, set()
    if config.profile.runs_chain_node:
        opened |= {(ports.p2p, "tcp"), (ports.p2p, "udp")}
        if config.embedded_relay:
            opened.add((ports.relay_p2p, "tcp"))
    if config.tls is not None:
        opened.add((443, "tcp"))
        if config.tls.challenge == "http-01":
            opened.add((80, "tcp"))
    return opened


def check_stack(document: dict, config: NodeConfig) -> None:
    ports = config.effective_ports
    sensitive = (ports.rpc, ports.prometheus, ports.relay_prometheus, ports.node_exporter, ports.probe, 22)
    violations = check_all(document, p2p_ports=(ports.p2p, ports.relay_p2p), sensitive_ports=sensitive, rpc_port=ports.rpc)
    assert not violations, "\n".join(violations)
    resources = document["resource"]
    (instance,) = resources["aws_instance"].values()
    assert instance["instance_type"] == config.effective_instance_type
    assert instance["tags"]["substrate:role"] == config.role.value and instance["tags"]["Name"] == config.name
    (volume,) = resources["aws_ebs_volume"].values()
    assert volume["size"] == config.volume_size_gib
    assert bool((volume.get("lifecycle") or {}).get("prevent_destroy")) == config.retain_volume
    rules = list(resources.get("aws_vpc_security_group_ingress_rule", {}).values())
    public = {(r["from_port"], r["ip_protocol"]) for r in rules if r.get("cidr_ipv4") == "0.0.0.0/0" or r.get("cidr_ipv6") == "::/0"}
    assert public == expected_public(config)
    allowed_sources = set(config.rpc.ingress_cidrs) | set(config.monitoring.cidrs) | {"0.0.0.0/0", "::/0"}
    for rule in rules:
        source = rule.get("cidr_ipv4") or rule.get("cidr_ipv6")
        if source is not None:
            assert source in allowed_sources, rule
        else:
            assert rule["referenced_security_group_id"] == config.monitoring.security_group_id, rule
        if rule["from_port"] == ports.rpc:
            assert source in config.rpc.ingress_cidrs and config.profile.rpc_external, rule
    assert ("aws_eip" in resources) == config.use_elastic_ip
    assert ("aws_route53_record" in resources) == (config.dns is not None)
    ((_, user_data),) = list(rendered_user_data(document))
    if config.profile.runs_chain_node:  # in node.args, in the bootstrap bundle the user data pins
        booted = "\n".join(content for _, content in booted_files(document, user_data))
        assert f"\n--name\n{config.name}\n" in booted


@pytest.fixture(scope="module")
def synth():
    from helpers import synth  # imports the AWS bindings (~15 s, once per process)
    return synth


@settings(max_examples=80, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(kwargs=s.node_config(), as_objects=st.booleans(), subnet_id=s.SUBNET_ID)
@example(kwargs={"role": "rpc", "name": "r"}, as_objects=False, subnet_id="subnet-xyz")
@example(kwargs={"role": "rpc", "name": "r", "rpc": {"ingress_cidrs": ("0.0.0.0/0",)}}, as_objects=True, subnet_id=SUBNET)
@example(kwargs=ROLE_EXAMPLES[0], as_objects=False, subnet_id=SUBNET)
@example(kwargs=ROLE_EXAMPLES[1], as_objects=True, subnet_id=SUBNET)
@example(kwargs=ROLE_EXAMPLES[2], as_objects=False, subnet_id=SUBNET)
@example(kwargs=ROLE_EXAMPLES[3], as_objects=True, subnet_id=SUBNET)
@example(kwargs=ROLE_EXAMPLES[4], as_objects=False, subnet_id=SUBNET)
@example(kwargs=ROLE_EXAMPLES[5], as_objects=True, subnet_id=SUBNET)
def test_substrate_node_synthesizes_safely_or_raises_config_error(synth, kwargs, as_objects, subnet_id):
    from constructs_substrate import SubstrateNode

    try:
        config = build_config(kwargs, as_objects)
        document = synth(lambda stack: SubstrateNode(stack, "node", config=config, subnet_id=subnet_id))
    except ConfigError as error:
        check_error(error)
        event("ConfigError")
        return
    event(f"synthesized {config.role.value}")
    check_stack(document, config)


@pytest.mark.parametrize("config", [None, {"role": "rpc", "name": "r"}, "rpc"])
def test_substrate_node_rejects_a_config_of_the_wrong_type(synth, config):
    from constructs_substrate import SubstrateNode

    with pytest.raises(ConfigError):
        synth(lambda stack: SubstrateNode(stack, "node", config=config, subnet_id=SUBNET))
