"""Issue 12 items 12, 13, 15, 16, 17 at the model level: every bad value is a
ConfigError naming its own field and saying what to type, with an example; nothing is
coerced silently (counts, sizes and flags take only their own types); hex digests are
normalized; a custom chain needs no chain_id when its chain spec replaces it."""

from __future__ import annotations

import re

import pytest

from constructs_substrate import (
    CATALOG, POLKADOT_SDK_RELEASE, Artifact, BinaryRelease, Chain, ChainSpecSource, ConfigError, DbSizes,
    DeploymentSettings, DnsConfig, NodeConfig, TelemetryServerConfig, TlsConfig,
)
from constructs_substrate._model import Model, example_of
from constructs_substrate.cluster import ApiClusterConfig, ChainSnapshot
from constructs_substrate.settings import load_settings

NODE = NodeConfig(role="rpc", name="r")
CLUSTER = {"node": NODE, "domain_name": "a.example.com", "zone_name": "example.com", "hosted_zone_id": "Z0123456789"}
UPPER = "AB" * 32
SPEC = {"url": "https://downloads.example.com/spec.json", "sha256": "cd" * 32}
RELEASE = BinaryRelease(
    version="v1.2.3", artifacts=[Artifact(name="mynode", url="https://downloads.example.com/v1.2.3/mynode", sha256="ab" * 32)],
)


def raised(build) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        build()
    return info.value


# ---- item 12: no lax coercion -----------------------------------------------------

@pytest.mark.parametrize("build,field,fragment", [
    (lambda: ApiClusterConfig(**CLUSTER, min_size="2"), "ApiClusterConfig.min_size", "not the text '2'"),
    (lambda: ApiClusterConfig(**CLUSTER, max_size=True), "ApiClusterConfig.max_size", "not True"),
    (lambda: ApiClusterConfig(**CLUSTER, max_size=6.0), "ApiClusterConfig.max_size", "not float 6.0"),
    (lambda: ApiClusterConfig(**CLUSTER, scale_in="false"), "ApiClusterConfig.scale_in", "True or False"),
    (lambda: ApiClusterConfig(**CLUSTER, scale_in=0), "ApiClusterConfig.scale_in", "True or False"),
    (lambda: NodeConfig(role="rpc", name="r", data_volume={"size_gib": "500"}), "NodeConfig.data_volume.size_gib", "whole number"),
    (lambda: NodeConfig(role="rpc", name="r", elastic_ip=1), "NodeConfig.elastic_ip", "True or False"),
    (lambda: NodeConfig(role="rpc", name="r", ports={"p2p": "30333"}), "NodeConfig.ports.p2p", "whole number"),
    (lambda: DeploymentSettings(validators=True), "DeploymentSettings.validators", "whole number"),
    (lambda: DeploymentSettings(rpc_min_size="2"), "DeploymentSettings.rpc_min_size", "whole number"),
    (lambda: Chain(name="mychain", chain_id="mychain", release=RELEASE, db_size_gib={"pruned": 1, "archive": 2},
                   block_time_seconds=True), "Chain.block_time_seconds", "a number"),
])
def test_counts_sizes_and_flags_take_only_their_own_types(build, field, fragment):
    error = raised(build)
    assert error.fields == (field,), str(error)
    assert fragment in str(error)


def test_floats_take_ints_and_ints_stay_ints():
    chain = CATALOG["polkadot"].replace(block_time_seconds=12)
    assert chain.block_time_seconds == 12
    assert ApiClusterConfig(**CLUSTER, min_size=3, max_size=3).min_size == 3


def test_a_json_settings_file_gives_real_types(tmp_path):
    (tmp_path / "substrate.settings.json").write_text('{"validators": 2, "rpc_min_size": 3, "regions": ["us-west-2"]}')
    settings = load_settings(tmp_path, environ={})
    assert (settings.validators, settings.rpc_min_size, settings.regions) == (2, 3, ("us-west-2",))
    (tmp_path / "substrate.settings.json").write_text('{"validators": "2"}')
    assert raised(lambda: load_settings(tmp_path, environ={})).fields == ("DeploymentSettings.validators",)


def test_environment_variables_are_converted_explicitly(tmp_path):
    settings = load_settings(tmp_path, environ={"SUBSTRATE_RPC_MIN": "3", "SUBSTRATE_RPC_MAX": "9"})
    assert (settings.rpc_min_size, settings.rpc_max_size) == (3, 9)
    error = raised(lambda: load_settings(tmp_path, environ={"SUBSTRATE_RPC_MAX": "9.5"}))
    assert error.fields == ("DeploymentSettings.rpc_max_size",)
    assert "SUBSTRATE_RPC_MAX='9.5' must be a whole number, e.g. SUBSTRATE_RPC_MAX=" in str(error)


# ---- item 13: e-mail addresses at their own field ---------------------------------

@pytest.mark.parametrize("field,value", [("alert_email", "oncall"), ("acme_email", "hostmaster"),
                                         ("alert_email", "ops@example"), ("acme_email", "o ps@example.com")])
def test_settings_emails_are_checked_at_the_field(field, value):
    error = raised(lambda: DeploymentSettings(**{field: value}))
    assert error.fields == (f"DeploymentSettings.{field}",)
    assert "e.g. 'ops@example.com'" in str(error)


def test_settings_emails_from_the_environment(tmp_path):
    error = raised(lambda: load_settings(tmp_path, environ={"SUBSTRATE_ALERT_EMAIL": "oncall"}))
    assert error.fields == ("DeploymentSettings.alert_email",)
    assert load_settings(tmp_path, environ={"SUBSTRATE_ALERT_EMAIL": "Ops@Example.COM"}).alert_email == "Ops@example.com"


# ---- item 15: one name for the certificate and the record -------------------------

def test_tls_domain_must_be_the_dns_name():
    error = raised(lambda: NodeConfig(
        role="rpc", name="r", dns=DnsConfig(zone_id="Z0123456789", name="node-1.example.com"),
        tls=TlsConfig(domain="rpc.example.com", email="ops@example.com"),
    ))
    assert error.fields == ("NodeConfig.tls.domain",)
    assert "rpc.example.com" in str(error) and "node-1.example.com" in str(error)
    same = NodeConfig(role="rpc", name="r", dns=DnsConfig(zone_id="Z0123456789", name="RPC.example.com."),
                      tls=TlsConfig(domain="rpc.example.com", email="ops@example.com"))
    assert same.tls.domain == same.dns.name == "rpc.example.com"


# ---- item 16: what to type, with an example; hex normalized ------------------------

def _pattern_fields():
    def models(cls):
        yield cls
        for sub in cls.__subclasses__():
            yield from models(sub)

    import constructs_substrate.cluster  # noqa: F401  (every public model is defined)
    import constructs_substrate.observability  # noqa: F401

    for model in set(models(Model)):
        for name, field in model.model_fields.items():
            if any(getattr(item, "pattern", None) for item in field.metadata):
                yield f"{model.__name__}.{name}", field


def test_every_pattern_field_has_an_example_to_show():
    missing = [name for name, field in _pattern_fields() if example_of(field) is None]
    assert missing == [], "give these Field(pattern=...) an examples=[...] (shown in the message)"


BAD_VALUES = [
    (lambda: ChainSpecSource(url="https://x.example.com/spec.json", sha256="xyz"), "ChainSpecSource.sha256"),
    (lambda: Artifact(name="n", url="https://x.example.com/n", sha256="0" * 63), "Artifact.sha256"),
    (lambda: NodeConfig(role="rpc", name="r", data_volume={"snapshot_id": "snap-xyz"}), "NodeConfig.data_volume.snapshot_id"),
    (lambda: DeploymentSettings(status_page_repository="not a repo"), "DeploymentSettings.status_page_repository"),
    (lambda: NodeConfig(role="rpc", name="bad\nname"), "NodeConfig.name"),
    (lambda: NodeConfig(role="rpc", name="r", data_volume={"iops": 1000}), "NodeConfig.data_volume.iops"),
    (lambda: NodeConfig(role="rpc", name="r", unknown_field=1), "NodeConfig.unknown_field"),
    (lambda: TelemetryServerConfig(backend_image="parity/x:latest", frontend_image="parity/x:latest"),
     "TelemetryServerConfig.backend_image"),
]


@pytest.mark.parametrize("build,field", BAD_VALUES, ids=[f for _, f in BAD_VALUES])
def test_messages_say_what_to_type_not_a_regular_expression(build, field):
    error = raised(build)
    assert field in error.fields
    message = str(error)
    assert not re.search(r"\^|\$'|\[0-9|\{\d+\}|should match pattern", message), message
    assert "e.g." in message or "did you mean" in message or "options:" in message, message


def test_uppercase_hex_digests_are_normalized():
    assert ChainSpecSource(url=SPEC["url"], sha256=UPPER).sha256 == UPPER.lower()
    assert Artifact(name="n", url="https://x.example.com/n", sha256=UPPER).sha256 == UPPER.lower()
    snapshot = ChainSnapshot(archive_url="https://x.example.com/db.tar.zst", archive_sha256=UPPER)
    assert snapshot.archive_sha256 == UPPER.lower()
    image = f"docker.io/parity/substrate-telemetry-backend:v1@sha256:{UPPER}"
    server = TelemetryServerConfig(backend_image=image, frontend_image=image)
    assert server.backend_image.endswith(UPPER.lower())


def test_a_typo_in_a_field_name_suggests_the_field():
    error = raised(lambda: NodeConfig(role="rpc", name="r", instance_typ="m7i.2xlarge"))
    assert "did you mean 'instance_type'" in str(error)


# ---- item 17 (model side) and issue 14: custom chains -----------------------------

def test_a_chain_spec_replaces_chain_id():
    chain = Chain(name="mychain", release=RELEASE, db_size_gib=DbSizes(pruned=50, archive=200), chain_spec=SPEC)
    assert chain.chain_id is None
    assert NodeConfig(role="rpc", name="r", chain=chain).chain.name == "mychain"
    error = raised(lambda: Chain(name="mychain", release=RELEASE, db_size_gib=DbSizes(pruned=50, archive=200)))
    assert error.fields == ("Chain.chain_id",) and "chain_spec" in str(error)


def test_with_release_moves_a_catalog_chain_to_another_tag():
    chain = CATALOG["kusama"].with_release("polkadot-stable2606-2")
    assert chain.release.version == "polkadot-stable2606-2"
    assert [a.name for a in chain.release.artifacts] == [a.name for a in CATALOG["kusama"].release.artifacts]
    assert all("/polkadot-stable2606-2/" in a.url for a in chain.release.artifacts)
    assert chain.release.gpg_fingerprint == CATALOG["kusama"].release.gpg_fingerprint
    assert CATALOG["kusama"].with_release(POLKADOT_SDK_RELEASE) == CATALOG["kusama"]


@pytest.mark.parametrize("tag", ["stable2606", "polkadot-latest", "polkadot-stable2606-1; rm -rf /", ""])
def test_with_release_refuses_what_is_not_a_tag(tag):
    error = raised(lambda: CATALOG["polkadot"].with_release(tag))
    assert error.fields == ("release",) and f"e.g. '{POLKADOT_SDK_RELEASE}'" in str(error)


def test_with_release_refuses_a_chain_not_built_from_polkadot_sdk():
    chain = Chain(name="mychain", release=RELEASE, db_size_gib=DbSizes(pruned=50, archive=200), chain_spec=SPEC)
    assert "Chain.release" in str(raised(lambda: chain.with_release("polkadot-stable2606-2")))


def test_release_setting(tmp_path):
    assert load_settings(tmp_path, environ={"SUBSTRATE_RELEASE": "polkadot-stable2606-2"}).release == "polkadot-stable2606-2"
    error = raised(lambda: load_settings(tmp_path, environ={"SUBSTRATE_RELEASE": "latest"}))
    assert error.fields == ("DeploymentSettings.release",)


def test_an_embedded_relay_must_be_a_catalog_relay_chain():
    mypara = CATALOG["asset-hub-kusama"].replace(name="mypara", relay_chain="myrelay")
    error = raised(lambda: NodeConfig(role="rpc", name="r", chain=mypara))
    assert error.fields == ("NodeConfig.relay_chain_rpc_urls",) and "relay_chain_rpc_urls=('wss://" in str(error)
    following = NodeConfig(role="rpc", name="r", chain=mypara, relay_chain_rpc_urls=("wss://relay.example.com",))
    assert not following.embedded_relay


def test_a_missing_field_says_what_to_give():
    error = raised(lambda: NodeConfig(name="r"))
    assert str(error) == (
        "NodeConfig.role: is required: one of 'validator', 'rpc', 'archive', 'bootnode', 'telemetry'"
    )
    error = raised(lambda: BinaryRelease(version="v1", artifacts=()))
    assert str(error) == "BinaryRelease.artifacts: give at least 1 (got 0)"
