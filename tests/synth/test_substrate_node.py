"""SubstrateNode synthesized per role: the resources and the properties that matter."""

from __future__ import annotations

import json

import pytest
from helpers import only, resources, synth

from constructs_substrate import ConfigError, NodeConfig, SubstrateNode
from constructs_substrate.node import UBUNTU_AMI_PARAMETER

SUBNET = "subnet-0123456789abcdef0"
TLS = {"domain": "rpc.example.com", "email": "ops@example.com"}
DIGEST = "ab" * 32
TELEMETRY = {
    "backend_image": f"docker.io/parity/substrate-telemetry-backend@sha256:{DIGEST}",
    "frontend_image": f"docker.io/parity/substrate-telemetry-frontend@sha256:{DIGEST}",
}
ROLES = {
    "validator": {"role": "validator", "name": "val-1"},
    "rpc": {"role": "rpc", "name": "rpc-1"},
    "rpc-tls": {"role": "rpc", "name": "rpc-2", "tls": TLS, "dns": {"zone_id": "Z123", "name": "rpc.example.com"}},
    "archive": {"role": "archive", "name": "arc-1"},
    "bootnode": {"role": "bootnode", "name": "boot-1"},
    "telemetry": {"role": "telemetry", "name": "tel-1", "tls": {**TLS, "domain": "telemetry.example.com"}, "telemetry_server": TELEMETRY},
}


@pytest.fixture(scope="module")
def stacks() -> dict[str, dict]:
    return {
        key: synth(lambda stack, kw=kw: SubstrateNode(stack, "node", config=NodeConfig(**kw), subnet_id=SUBNET))
        for key, kw in ROLES.items()
    }


def rotate_keys(document: dict) -> dict:
    (found,) = [d for d in resources(document, "aws_ssm_document").values() if d["name"].endswith("rotate-session-keys")]
    return found


def ingress(document: dict) -> list[dict]:
    return list(resources(document, "aws_vpc_security_group_ingress_rule").values())


def public_ports(document: dict) -> set[tuple[int, str]]:
    return {
        (rule["from_port"], rule["ip_protocol"])
        for rule in ingress(document)
        if rule.get("cidr_ipv4") == "0.0.0.0/0" or rule.get("cidr_ipv6") == "::/0"
    }


@pytest.mark.parametrize("role", ROLES)
def test_imdsv2_encryption_no_ssh(stacks, role):
    document = stacks[role]
    instance = only(document, "aws_instance")
    assert instance["metadata_options"]["http_tokens"] == "required"
    assert instance["metadata_options"]["http_put_response_hop_limit"] == 1
    assert instance["root_block_device"]["encrypted"] is True
    assert "key_name" not in instance
    volume = only(document, "aws_ebs_volume")
    assert volume["encrypted"] is True and volume["type"] == "gp3"
    assert volume["iops"] == 6000 and volume["throughput"] == 500
    assert 22 not in {p for p, _ in public_ports(document)}
    # Upgrades happen in place (tests/synth/test_in_place_upgrade.py): no replacement.
    assert instance["user_data_replace_on_change"] is False
    assert "user_data_base64" in instance


def test_validator_exposes_no_rpc(stacks):
    document = stacks["validator"]
    assert public_ports(document) == {(30333, "tcp"), (30333, "udp")}
    assert all(rule["from_port"] != 9944 for rule in ingress(document))
    assert only(document, "aws_ebs_volume")["lifecycle"]["prevent_destroy"] is True
    assert only(document, "aws_eip")["domain"] == "vpc"
    assert "aws_eip_association" in document["resource"]
    document_content = json.loads(rotate_keys(document)["content"])
    assert document_content["mainSteps"][0]["inputs"]["runCommand"] == [
        "/usr/local/lib/substrate/rotate-session-keys.sh"
    ]


def test_rpc_node_is_not_public_without_tls(stacks):
    assert public_ports(stacks["rpc"]) == {(30333, "tcp"), (30333, "udp")}
    assert "aws_eip" not in stacks["rpc"]["resource"]
    assert "lifecycle" not in only(stacks["rpc"], "aws_ebs_volume")


def test_tls_node_opens_https_and_acme(stacks):
    document = stacks["rpc-tls"]
    assert public_ports(document) == {(30333, "tcp"), (30333, "udp"), (443, "tcp"), (80, "tcp")}
    record = only(document, "aws_route53_record")
    assert record["name"] == "rpc.example.com" and record["type"] == "A"


DNS = {"zone_id": "Z123", "name": "node.example.com"}


@pytest.mark.parametrize(
    "fields",
    [
        {"role": "rpc", "name": "r", "dns": DNS},
        {"role": "archive", "name": "a", "dns": DNS},
        {"role": "bootnode", "name": "b", "dns": DNS},
        {"role": "validator", "name": "v", "dns": DNS},
        # As deploy_chain builds it: telemetry with dns and tls, no elastic_ip set.
        {"role": "telemetry", "name": "t", "dns": DNS, "tls": {**TLS, "domain": "node.example.com"}, "telemetry_server": TELEMETRY},
    ],
    ids=lambda fields: fields["role"],
)
def test_dns_record_points_at_the_elastic_ip_never_the_instance_public_ip(fields):
    """Regression (terraform apply against moto): the record was [instance.public_ip],
    "" for an instance without a public address, so every re-plan showed
    records [] -> [""] and destroy failed. dns now implies an Elastic IP."""
    document = synth(lambda s: SubstrateNode(s, "n", config=NodeConfig(**fields), subnet_id=SUBNET))
    (eip,) = resources(document, "aws_eip")
    record = only(document, "aws_route53_record")
    assert record["records"] == [f"${{aws_eip.{eip}.public_ip}}"]
    assert "aws_eip_association" in document["resource"]
    assert not any("aws_instance." in value for value in record["records"])


def test_dns_without_an_elastic_ip_is_refused():
    with pytest.raises(ConfigError) as raised:
        NodeConfig(role="rpc", name="r", dns=DNS, elastic_ip=False)
    assert raised.value.fields == ("NodeConfig.elastic_ip",)
    assert "remove elastic_ip=False" in str(raised.value)


def test_archive_volume_is_sized_and_retained(stacks):
    volume = only(stacks["archive"], "aws_ebs_volume")
    assert volume["size"] == 4500
    assert volume["lifecycle"]["prevent_destroy"] is True


def test_telemetry_serves_only_https(stacks):
    assert public_ports(stacks["telemetry"]) == {(443, "tcp"), (80, "tcp")}


def test_ami_from_ssm_and_not_replaced_on_update(stacks):
    document = stacks["rpc"]
    (parameter,) = document["data"]["aws_ssm_parameter"].values()
    assert parameter["name"] == UBUNTU_AMI_PARAMETER
    assert "ami" in only(document, "aws_instance")["lifecycle"]["ignore_changes"]


def test_pinned_ami():
    document = synth(lambda s: SubstrateNode(s, "n", config=NodeConfig(role="rpc", name="r", ami_id="ami-0123456789abcdef0"), subnet_id=SUBNET))
    assert only(document, "aws_instance")["ami"] == "ami-0123456789abcdef0"
    assert "aws_ssm_parameter" not in document.get("data", {})


def test_monitoring_only_from_named_source():
    config = NodeConfig(role="rpc", name="r", monitoring={"security_group_id": "sg-0123456789abcdef0"})
    document = synth(lambda s: SubstrateNode(s, "n", config=config, subnet_id=SUBNET))
    scraped = {r["from_port"]: r for r in ingress(document) if r["from_port"] in (9615, 9100, 9955)}
    assert set(scraped) == {9615, 9100, 9955}
    assert all(r["referenced_security_group_id"] == "sg-0123456789abcdef0" for r in scraped.values())


def test_dns01_role_is_scoped_to_zone_and_name():
    config = NodeConfig(role="rpc", name="r", tls={**TLS, "challenge": "dns-01", "hosted_zone_id": "Z999"})
    document = synth(lambda s: SubstrateNode(s, "n", config=config, subnet_id=SUBNET))
    policy = json.loads(only(document, "aws_iam_role_policy")["policy"])
    write = next(s for s in policy["Statement"] if "route53:ChangeResourceRecordSets" in s["Action"])
    assert write["Resource"] == ["arn:aws:route53:::hostedzone/Z999"]
    names = write["Condition"]["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"]
    assert names == ["_acme-challenge.rpc.example.com"]
    assert public_ports(document) == {(30333, "tcp"), (30333, "udp"), (443, "tcp")}


def test_outputs(stacks):
    outputs = stacks["rpc-tls"]["output"].values()
    described = [o["description"].split(": ")[1] for o in outputs]
    assert sorted(described) == sorted(
        ["instance_id", "private_ip", "public_ip", "security_group_id", "data_volume_id", "dns_name",
         "upgrade_document", "rollback_document"]
    )


def test_bad_subnet_id_fails_before_synth():
    with pytest.raises(ConfigError) as raised:
        synth(lambda s: SubstrateNode(s, "n", config=NodeConfig(role="rpc", name="r"), subnet_id="my-subnet"))
    assert raised.value.fields == ("SubstrateNode.subnet_id",)


def test_config_type_is_checked():
    with pytest.raises(ConfigError):
        synth(lambda s: SubstrateNode(s, "n", config={"role": "rpc"}, subnet_id=SUBNET))  # type: ignore[arg-type]


@pytest.mark.parametrize("construct_id", ["aws-validator", "Amazon", "amzn-1", "sg-1"])
def test_names_never_start_with_a_prefix_aws_reserves(construct_id):
    """CreateDocument refuses names starting with aws/amazon/amzn, CreateSecurityGroup
    names starting with sg-: a construct id like these failed at apply, not at synth."""
    document = synth(lambda s: SubstrateNode(s, construct_id, config=NodeConfig(role="validator", name="v"), subnet_id=SUBNET))
    names = [d["name"] for d in resources(document, "aws_ssm_document").values()]
    assert len(names) == 3 and rotate_keys(document)["name"].endswith("rotate-session-keys")
    assert not any(name.lower().startswith(("aws", "amazon", "amzn")) for name in names)
    assert not only(document, "aws_security_group")["name_prefix"].startswith("sg-")


def test_ordinary_names_are_unchanged():
    document = synth(lambda s: SubstrateNode(s, "validator-1", config=NodeConfig(role="validator", name="v"), subnet_id=SUBNET))
    assert all(d["name"].startswith("validator-1-") for d in resources(document, "aws_ssm_document").values())
    assert only(document, "aws_security_group")["name_prefix"].startswith("validator-1-")
