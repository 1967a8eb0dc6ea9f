"""Every validation rule: a bad configuration raises ConfigError naming the field."""

from __future__ import annotations

import pytest

from constructs_substrate import (
    Artifact,
    BinaryRelease,
    Chain,
    ConfigError,
    DbSizes,
    NodeConfig,
    TlsConfig,
)

TLS = {"domain": "rpc.example.com", "email": "ops@example.com"}
DIGEST = "0" * 64

INVALID = [
    ({"role": "rpc", "name": "n", "chain": "polkadott"}, "NodeConfig.chain", "unknown chain"),
    ({"role": "archive", "name": "n", "sync": "warp"}, "NodeConfig.sync", "warp sync cannot"),
    ({"role": "archive", "name": "n", "state_pruning": 1000}, "NodeConfig.state_pruning", "archive"),
    ({"role": "validator", "name": "n", "data_volume": {"retain": False}}, "NodeConfig.data_volume.retain", "always retained"),
    ({"role": "validator", "name": "n", "rpc": {"ingress_cidrs": ["10.0.0.0/16"]}}, "NodeConfig.rpc.ingress_cidrs", "localhost"),
    ({"role": "rpc", "name": "n", "rpc": {"ingress_cidrs": ["0.0.0.0/0"]}}, "NodeConfig.rpc.ingress_cidrs", "internet"),
    ({"role": "rpc", "name": "n", "rpc": {"ingress_cidrs": ["::/0"]}}, "NodeConfig.rpc.ingress_cidrs", "internet"),
    ({"role": "validator", "name": "n", "tls": TLS}, "NodeConfig.tls", "no public endpoint"),
    ({"role": "bootnode", "name": "n", "tls": TLS}, "NodeConfig.tls", "no public endpoint"),
    ({"role": "rpc", "name": "n", "ports": {"rpc": 30333}}, "NodeConfig.ports.rpc", "already used"),
    ({"role": "rpc", "name": "n", "ports": {"prometheus": 9100}}, "NodeConfig.ports.node_exporter", "already used"),
    ({"role": "rpc", "name": "n", "ports": {"probe": 8000}}, "NodeConfig.ports.probe", "reserved"),
    ({"role": "validator", "name": "n", "instance_type": "c7i.2xlarge"}, "NodeConfig.instance_type", "too small"),
    ({"role": "rpc", "name": "n", "instance_type": "t3.small"}, "NodeConfig.instance_type", "too small"),
    ({"role": "rpc", "name": "n", "instance_type": "m7g.2xlarge"}, "NodeConfig.instance_type", "arm64"),
    ({"role": "rpc", "name": "n", "instance_type": "huge"}, "NodeConfig.instance_type", "not an EC2"),
    ({"role": "validator", "name": "n", "instance_type": "t3.2xlarge"}, "NodeConfig.instance_type", "too small"),
    ({"role": "rpc", "name": "n", "data_volume": {"size_gib": 50}}, "NodeConfig.data_volume.size_gib", "smaller than"),
    ({"role": "rpc", "name": "n", "blocks_pruning": "archive-canonical", "data_volume": {"size_gib": 100}}, "NodeConfig.data_volume.size_gib", "smaller than"),
    ({"role": "archive", "name": "n", "data_volume": {"size_gib": 2000, "iops": 6000}}, "NodeConfig.data_volume.size_gib", "smaller than"),
    ({"role": "rpc", "name": "n", "chain": "asset-hub-polkadot", "data_volume": {"size_gib": 80}}, "NodeConfig.data_volume.size_gib", "embedded relay"),
    ({"role": "rpc", "name": "n", "data_volume": {"throughput_mibps": 1000, "iops": 3000}}, "NodeConfig.data_volume.throughput_mibps", "0.25 MiB/s"),
    ({"role": "rpc", "name": "n", "data_volume": {"iops": 1000}}, "NodeConfig.data_volume.iops", "from 3000 to 80000, e.g. 6000"),
    ({"role": "rpc", "name": "n", "tls": {**TLS, "domain": "not a domain"}}, "NodeConfig.tls.domain", "not a valid DNS name"),
    ({"role": "rpc", "name": "n", "tls": {**TLS, "domain": "localhost"}}, "NodeConfig.tls.domain", "not a valid DNS name"),
    ({"role": "rpc", "name": "n", "dns": {"zone_id": "Z1", "name": "-bad-.example.com"}}, "NodeConfig.dns.name", "not a valid DNS name"),
    ({"role": "rpc", "name": "n", "tls": {**TLS, "email": "nope"}}, "NodeConfig.tls.email", "e-mail"),
    ({"role": "rpc", "name": "n", "tls": {**TLS, "challenge": "dns-01"}}, "NodeConfig.tls.hosted_zone_id", "dns-01"),
    ({"role": "validator", "name": "n", "chain": "asset-hub-polkadot"}, "NodeConfig.chain", "relay chains"),
    ({"role": "rpc", "name": "n", "relay_chain_rpc_urls": ["wss://relay.example.com"]}, "NodeConfig.relay_chain_rpc_urls", "not a parachain"),
    ({"role": "rpc", "name": "n", "chain": "asset-hub-polkadot", "relay_chain_rpc_urls": ["http://x"]}, "NodeConfig.relay_chain_rpc_urls", "ws://"),
    ({"role": "telemetry", "name": "n", "tls": TLS}, "NodeConfig.telemetry_server", "pinned by digest"),
    ({"role": "telemetry", "name": "n", "tls": TLS, "telemetry_server": {"backend_image": "parity/substrate-telemetry-backend:latest", "frontend_image": f"x@sha256:{DIGEST}"}}, "NodeConfig.telemetry_server.backend_image", "pinned by digest"),
    ({"role": "rpc", "name": "n", "telemetry_server": {"backend_image": f"b@sha256:{DIGEST}", "frontend_image": f"f@sha256:{DIGEST}"}}, "NodeConfig.telemetry_server", "only the telemetry role"),
    ({"role": "rpc", "name": "n", "extra_args": ["--rpc-methods=unsafe"]}, "NodeConfig.extra_args", "set by the library"),
    ({"role": "rpc", "name": "n", "extra_args": ["--x; rm -rf /"]}, "NodeConfig.extra_args", "must look like"),
    ({"role": "rpc", "name": "n", "rpc": {"trust_proxy_headers": True, "rate_limit_per_minute": 600}}, "NodeConfig.rpc.trust_proxy_headers", "spoof"),
    ({"role": "rpc", "name": "n", "rpc": {"trust_proxy_headers": True, "rate_limit_per_minute": None}}, "NodeConfig.rpc.trust_proxy_headers", "rate_limit_per_minute"),
    ({"role": "rpc", "name": "bad\nname"}, "NodeConfig.name", "letters"),
    ({"role": "rpc", "name": "n", "ami_id": "ubuntu"}, "NodeConfig.ami_id", "AMI id"),
    ({"role": "rpc", "name": "n", "telemetry_url": "wss://t.example.com/submit 0"}, "NodeConfig.telemetry_url", "without spaces"),
    ({"role": "rpc", "name": "n", "monitoring": {"cidrs": ["0.0.0.0/0"]}}, "NodeConfig.monitoring.cidrs", "internet"),
    ({"role": "rpc", "name": "n", "monitoring": {"cidrs": ["10.0.0.1/8"]}}, "NodeConfig.monitoring.cidrs", "CIDR"),
    # Found by the config fuzz gate: a repeated CIDR named two security group rules alike.
    ({"role": "rpc", "name": "n", "monitoring": {"cidrs": ["10.0.0.0/16", "10.0.0.0/16"]}},
     "NodeConfig.monitoring.cidrs", "more than once"),
    ({"role": "rpc", "name": "n", "rpc": {"ingress_cidrs": ["10.1.0.0/16", "10.1.0.0/16"]}},
     "NodeConfig.rpc.ingress_cidrs", "more than once"),
    ({"role": "rpc", "name": "n", "bootnodes": ["1.2.3.4:30333"]}, "NodeConfig.bootnodes", "multiaddr"),
    ({"role": "rpc", "name": "n", "unknown_field": 1}, "NodeConfig.unknown_field", "is not an option of NodeConfig"),
    ({"role": "miner", "name": "n"}, "NodeConfig.role", "validator"),
]


@pytest.mark.parametrize("kwargs,field,fragment", INVALID, ids=[f"{i}-{f}" for i, (_, f, _) in enumerate(INVALID)])
def test_invalid_config_names_field_and_fix(kwargs, field, fragment):
    with pytest.raises(ConfigError) as raised:
        NodeConfig(**kwargs)
    assert field in raised.value.fields, str(raised.value)
    assert fragment in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_all_problems_reported_at_once():
    with pytest.raises(ConfigError) as raised:
        NodeConfig(role="validator", name="v", tls=TLS, instance_type="c7g.8xlarge")
    assert set(raised.value.fields) == {"NodeConfig.tls", "NodeConfig.instance_type"}


def test_release_must_be_verifiable():
    with pytest.raises(ConfigError) as raised:
        BinaryRelease(version="v1", artifacts=[Artifact(name="node", url="https://example.com/node")])
    assert "cannot be verified" in str(raised.value)


@pytest.mark.parametrize("url", ["http://example.com/node", "https://example.com/a b", "https://example.com/$(id)"])
def test_artifact_urls_are_plain_https(url):
    with pytest.raises(ConfigError) as raised:
        Artifact(name="node", url=url, sha256="a" * 64)
    assert raised.value.fields == ("Artifact.url",)


def test_gpg_fingerprint_must_be_full():
    with pytest.raises(ConfigError) as raised:
        BinaryRelease.polkadot_sdk("polkadot-stable2606-1", ("polkadot",)).replace(gpg_fingerprint="94A4029AB4B35DAE")
    assert "40-hex" in str(raised.value)


def test_custom_chain_without_library_changes():
    chain = Chain(
        name="mychain",
        chain_id="mychain",
        release=BinaryRelease(
            version="v1.2.3",
            artifacts=[Artifact(name="mynode", url="https://downloads.example.com/v1.2.3/mynode", sha256="ab" * 32)],
        ),
        db_size_gib=DbSizes(pruned=50, archive=200),
        chain_spec={"url": "https://downloads.example.com/spec.json", "sha256": "cd" * 32},
    )
    config = NodeConfig(role="rpc", name="mine", chain=chain)
    assert config.chain.binary == "mynode"
    assert config.chain.release.verification == "sha256"
    assert config.volume_size_gib == 75


def test_defaults_follow_role_profiles():
    validator = NodeConfig(role="validator", name="v")
    assert validator.effective_instance_type == "c7i.4xlarge"
    assert validator.use_elastic_ip and validator.retain_volume
    archive = NodeConfig(role="archive", name="a")
    assert archive.effective_sync == "full" and archive.retain_volume
    assert archive.volume_size_gib == 4500
    rpc = NodeConfig(role="rpc", name="r", instance_type="m7i.4xlarge")
    assert rpc.rpc_max_connections == 4000 and not rpc.use_elastic_ip


def test_models_are_frozen():
    config = NodeConfig(role="rpc", name="r")
    with pytest.raises(Exception):
        config.name = "other"  # type: ignore[misc]


def test_tls_model_alone():
    with pytest.raises(ConfigError) as raised:
        TlsConfig(domain="x.example.com", email="a@b.co", acme_server="http://insecure/dir")
    assert raised.value.fields == ("TlsConfig.acme_server",)
