"""The invariant functions themselves: a hand-written stack that holds every
invariant, and one deliberately broken copy per rule, each of which must be caught.

(The gates would pass vacuously if an invariant never fired; these tests prove each
one can fail, on every way of writing the thing it checks.)
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
from typing import Callable

import pytest

import invariants as inv
from synthesis import decode_user_data, tree_differences, without_nulls

SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
PHRASE = "legal winner thank year wave sausage worth useful legal winner thank yellow"  # BIP39 test vector
SEED = "0x" + "7f" * 32


def b64gzip(text: str) -> str:
    return base64.b64encode(gzip.compress(text.encode(), mtime=0)).decode()


def ref(kind: str, name: str, attribute: str = "id") -> str:
    return "${" + f"{kind}.{name}.{attribute}" + "}"


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def sg_rule(group: str, port: int, protocol: str = "tcp", **source) -> dict:
    return {"security_group_id": ref("aws_security_group", group), "ip_protocol": protocol,
            "from_port": port, "to_port": port, "description": "test", **source}


TLS_USER_DATA = '#cloud-config\npackages:\n  - "curl"\n  - "nginx"\nwrite_files: []\n'
NODE_USER_DATA = '#cloud-config\npackages:\n  - "curl"\nwrite_files:\n  - path: "/etc/substrate/node.args"\n    content: |\n      --name\n      val-1\n'
INSTANCE = {
    "ami": "ami-0123456789abcdef0", "instance_type": "c7i.4xlarge",
    "metadata_options": {"http_endpoint": "enabled", "http_tokens": "required"},
    "root_block_device": {"encrypted": True, "volume_type": "gp3"},
}


def good() -> dict:
    """A small stack in the shape cdktf writes, holding every invariant."""
    return {
        "provider": {"aws": [{"region": "eu-central-1"}]},
        "data": {"aws_iam_policy_document": {"bucket": {"statement": [
            {"sid": "DenyInsecureTransport", "effect": "Deny", "actions": ["s3:*"],
             "resources": [ref("aws_s3_bucket", "logs", "arn"), ref("aws_s3_bucket", "logs", "arn") + "/*"],
             "principals": [{"type": "*", "identifiers": ["*"]}],
             "condition": [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}]},
            {"sid": "AlbLogs", "effect": "Allow", "actions": ["s3:PutObject"],
             "resources": [ref("aws_s3_bucket", "logs", "arn") + "/*"],
             "principals": [{"type": "Service", "identifiers": ["logdelivery.elasticloadbalancing.amazonaws.com"]}]},
        ]}}},
        "resource": {
            "aws_security_group": {name: {"description": name, "vpc_id": "vpc-1"} for name in ("node", "tls", "alb", "val")},
            "aws_vpc_security_group_ingress_rule": {
                "p2p": sg_rule("node", 30333, cidr_ipv4="0.0.0.0/0"),
                "p2p-udp": sg_rule("node", 30333, "udp", cidr_ipv6="::/0"),
                "relay-p2p": sg_rule("node", 30334, cidr_ipv4="0.0.0.0/0"),
                "val-p2p": sg_rule("val", 30333, cidr_ipv4="0.0.0.0/0"),
                "https": sg_rule("tls", 443, cidr_ipv4="0.0.0.0/0"),
                "http": sg_rule("tls", 80, cidr_ipv6="::/0"),
                "alb-https": sg_rule("alb", 443, cidr_ipv4="0.0.0.0/0"),
                "alb-http": sg_rule("alb", 80, cidr_ipv4="0.0.0.0/0"),
                "rpc-private": sg_rule("node", 9944, cidr_ipv4="10.0.0.0/16"),
                "probe-from-alb": sg_rule("node", 9955, referenced_security_group_id=ref("aws_security_group", "alb")),
                "metrics": sg_rule("val", 9615, cidr_ipv6="fd12:3456::/48"),
            },
            "aws_instance": {
                "rpc": {**INSTANCE, "vpc_security_group_ids": [ref("aws_security_group", "tls")],
                        "user_data_base64": b64gzip(TLS_USER_DATA), "tags": {"Name": "rpc-1", "substrate:role": "rpc"}},
                "validator": {**INSTANCE, "vpc_security_group_ids": [ref("aws_security_group", "val")],
                              "user_data_base64": b64gzip(NODE_USER_DATA),
                              "tags": {"Name": "val-1", "substrate:role": "validator"}},
            },
            "aws_ebs_volume": {"val-data": {"availability_zone": "eu-central-1a", "size": 400, "encrypted": True,
                                            "lifecycle": {"prevent_destroy": True}}},
            "aws_volume_attachment": {"val-data": {"device_name": "/dev/sdf",
                                                   "volume_id": ref("aws_ebs_volume", "val-data"),
                                                   "instance_id": ref("aws_instance", "validator")}},
            "aws_launch_template": {"lt": {
                "image_id": "ami-0123456789abcdef0",
                "metadata_options": {"http_tokens": "required", "http_endpoint": "enabled"},
                "block_device_mappings": [{"device_name": "/dev/sda1", "ebs": {"encrypted": "true", "volume_size": 30}}],
                "vpc_security_group_ids": [ref("aws_security_group", "node")],
                "user_data": b64gzip(NODE_USER_DATA),
                "tag_specifications": [{"resource_type": "instance", "tags": {"substrate:role": "rpc"}}],
            }},
            "aws_lb": {"alb": {"load_balancer_type": "application", "security_groups": [ref("aws_security_group", "alb")]}},
            "aws_s3_bucket": {"logs": {"bucket_prefix": "logs-"}},
            "aws_s3_bucket_server_side_encryption_configuration": {"logs": {
                "bucket": ref("aws_s3_bucket", "logs"),
                "rule": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]}},
            "aws_s3_bucket_public_access_block": {"logs": {
                "bucket": ref("aws_s3_bucket", "logs"), "block_public_acls": True, "block_public_policy": True,
                "ignore_public_acls": True, "restrict_public_buckets": True}},
            "aws_s3_bucket_policy": {"logs": {"bucket": ref("aws_s3_bucket", "logs"),
                                              "policy": "${data.aws_iam_policy_document.bucket.json}"}},
            "aws_iam_role": {"node": {"assume_role_policy": policy(
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})}},
            "aws_iam_role_policy": {"node": {"role": ref("aws_iam_role", "node"), "policy": policy(
                {"Sid": "Dns01", "Effect": "Allow", "Action": ["route53:ChangeResourceRecordSets"],
                 "Resource": ["arn:aws:route53:::hostedzone/Z123"]},
                {"Sid": "Read", "Effect": "Allow", "Action": ["route53:GetChange", "route53:ListHostedZones", "ec2:Describe*"],
                 "Resource": "*"},
                {"Sid": "Metrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
                 "Condition": {"StringEquals": {"cloudwatch:namespace": "Substrate"}}},
            )}},
            "aws_iam_role_policy_attachment": {"ssm": {"role": ref("aws_iam_role", "node", "name"), "policy_arn": SSM_CORE}},
            "aws_kms_key": {"logs": {"enable_key_rotation": True, "policy": policy(
                {"Sid": "Admin", "Effect": "Allow",
                 "Principal": {"AWS": "arn:aws:iam::${data.aws_caller_identity.me.account_id}:root"},
                 "Action": "kms:*", "Resource": "*"},
                {"Sid": "Logs", "Effect": "Allow", "Principal": {"Service": "logs.eu-central-1.amazonaws.com"},
                 "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"], "Resource": "*"},
            )}},
            "aws_ssm_document": {"rotate": {"content": json.dumps({"schemaVersion": "2.2", "description": "rotate keys"})}},
        },
    }


def test_the_good_stack_holds_every_invariant():
    assert inv.check_all(good()) == []


Mutation = Callable[[dict], None]


def _res(document: dict, kind: str) -> dict:
    return document["resource"].setdefault(kind, {})


def add_rule(name: str, rule: dict) -> Mutation:
    return lambda d: _res(d, "aws_vpc_security_group_ingress_rule").__setitem__(name, rule)


def set_path(path: str, value) -> Mutation:
    """``path``: dot-separated keys below ``resource`` (``kind.name.attr...``)."""
    def mutate(document: dict) -> None:
        *keys, last = path.split(".")
        target = document["resource"]
        for key in keys:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return mutate


def user_data(name: str, text: str) -> Mutation:
    return set_path(f"aws_instance.{name}.user_data_base64", b64gzip(text))


def role_policy(*statements: dict) -> Mutation:
    return set_path("aws_iam_role_policy.node.policy", policy(*statements))


DELETE = object()
ALLOW = {"Effect": "Allow"}

BROKEN: dict[str, tuple[str, Mutation, str]] = {
    # ---- public ingress, all three ways of writing a rule
    "ssh-open": ("no_public_ingress", add_rule("ssh", sg_rule("node", 22, cidr_ipv4="0.0.0.0/0")), "tcp 22 open from 0.0.0.0/0"),
    "all-protocols": ("no_public_ingress", add_rule("all", {**sg_rule("node", 0, "-1", cidr_ipv6="::/0"), "from_port": None, "to_port": None}), "every port open"),
    "https-on-plain-node": ("no_public_ingress", add_rule("https2", sg_rule("val", 443, cidr_ipv4="0.0.0.0/0")), "tcp 443 open"),
    "port-range": ("no_public_ingress", add_rule("range", {**sg_rule("node", 30000, cidr_ipv4="0.0.0.0/0"), "to_port": 40000}), "tcp 30000-40000"),
    "icmp": ("no_public_ingress", add_rule("icmp", {**sg_rule("node", 8, "icmp", cidr_ipv4="0.0.0.0/0"), "to_port": -1}), "icmp open"),
    "inline-ingress": ("no_public_ingress", set_path("aws_security_group.node.ingress", [
        {"from_port": 9944, "to_port": 9944, "protocol": "tcp", "cidr_blocks": [], "ipv6_cidr_blocks": ["::/0"]}]),
        "aws_security_group.node.ingress[0]: tcp 9944"),
    "security-group-rule": ("no_public_ingress", lambda d: _res(d, "aws_security_group_rule").__setitem__("rdp", {
        "type": "ingress", "security_group_id": ref("aws_security_group", "node"), "protocol": "6",
        "from_port": 3389, "to_port": 3389, "cidr_blocks": ["0.0.0.0/0"]}), "aws_security_group_rule.rdp: tcp 3389"),
    "default-sg-ingress": ("no_public_ingress", lambda d: _res(d, "aws_default_security_group").__setitem__("default", {
        "ingress": [{"from_port": 0, "to_port": 0, "protocol": "-1", "cidr_blocks": ["0.0.0.0/0"]}]}), "every port open"),
    # ---- sensitive ports from public networks that are not 0.0.0.0/0
    "rpc-half-internet": ("private_sources_only", add_rule("rpc-half", sg_rule("node", 9944, cidr_ipv4="0.0.0.0/1")), "port 9944 open to 0.0.0.0/1"),
    "metrics-public": ("private_sources_only", add_rule("metrics-public", sg_rule("node", 9615, cidr_ipv4="8.8.8.0/24")), "port 9615"),
    # ---- IMDSv2
    "imds-optional": ("imdsv2_required", set_path("aws_instance.rpc.metadata_options.http_tokens", "optional"), "aws_instance.rpc"),
    "imds-missing": ("imdsv2_required", set_path("aws_launch_template.lt.metadata_options", DELETE), "aws_launch_template.lt"),
    # ---- EBS
    "volume-plain": ("ebs_encrypted", set_path("aws_ebs_volume.val-data.encrypted", False), "aws_ebs_volume.val-data: not encrypted"),
    "root-unset": ("ebs_encrypted", set_path("aws_instance.rpc.root_block_device", DELETE), "no root_block_device"),
    "root-plain": ("ebs_encrypted", set_path("aws_instance.rpc.root_block_device.encrypted", None), "block device 0 not encrypted"),
    "extra-device": ("ebs_encrypted", set_path("aws_instance.rpc.ebs_block_device", [{"device_name": "/dev/sdg"}]), "block device 1"),
    "template-plain": ("ebs_encrypted", set_path("aws_launch_template.lt.block_device_mappings.0.ebs.encrypted", "false"), "/dev/sda1 not encrypted"),
    "template-no-mapping": ("ebs_encrypted", set_path("aws_launch_template.lt.block_device_mappings", DELETE), "no block_device_mappings"),
    # ---- S3
    "bucket-no-sse": ("s3_buckets_protected", lambda d: d["resource"].pop("aws_s3_bucket_server_side_encryption_configuration"), "no aws_s3_bucket_server_side_encryption_configuration"),
    "bucket-pab-partial": ("s3_buckets_protected", set_path("aws_s3_bucket_public_access_block.logs.restrict_public_buckets", False), "leaves restrict_public_buckets off"),
    "bucket-no-pab": ("s3_buckets_protected", lambda d: d["resource"].pop("aws_s3_bucket_public_access_block"), "no aws_s3_bucket_public_access_block"),
    "bucket-allows-http": ("s3_buckets_protected", lambda d: d["data"]["aws_iam_policy_document"]["bucket"]["statement"][0]["condition"][0].__setitem__("values", ["true"]), "aws:SecureTransport"),
    "bucket-no-policy": ("s3_buckets_protected", lambda d: d["resource"].pop("aws_s3_bucket_policy"), "aws:SecureTransport"),
    "bucket-json-policy-no-deny": ("s3_buckets_protected", set_path("aws_s3_bucket_policy.logs.policy", policy(
        {**ALLOW, "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"})), "aws:SecureTransport"),
    # ---- IAM
    "action-star": ("iam_least_privilege", role_policy({**ALLOW, "Action": "*", "Resource": "arn:aws:s3:::b"}), 'Action "*"'),
    "service-star": ("iam_least_privilege", role_policy({**ALLOW, "Action": ["s3:*"], "Resource": "arn:aws:s3:::b/*"}), "s3:* grants every action"),
    "write-on-star": ("iam_least_privilege", role_policy({**ALLOW, "Action": "ec2:TerminateInstances", "Resource": "*"}), 'write action ec2:TerminateInstances on Resource "*"'),
    "wildcard-write-on-star": ("iam_least_privilege", role_policy({**ALLOW, "Action": "ec2:*Volume", "Resource": ["*"]}), "ec2:*Volume"),
    "metrics-without-condition": ("iam_least_privilege", role_policy({**ALLOW, "Action": "cloudwatch:PutMetricData", "Resource": "*"}), "cloudwatch:PutMetricData"),
    "not-action": ("iam_least_privilege", role_policy({**ALLOW, "NotAction": "iam:*", "Resource": "*"}), "NotAction"),
    "public-bucket-policy": ("iam_least_privilege", set_path("aws_s3_bucket_policy.logs.policy", policy(
        {**ALLOW, "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})), 'Principal "*"'),
    "kms-star-for-a-role": ("iam_least_privilege", set_path("aws_kms_key.logs.policy", policy(
        {**ALLOW, "Principal": {"AWS": "arn:aws:iam::123456789012:role/app"}, "Action": "kms:*", "Resource": "*"})), "kms:* grants every action"),
    "kms-star-outside-a-key-policy": ("iam_least_privilege", role_policy({**ALLOW, "Action": "kms:*", "Resource": "arn:aws:kms:eu-central-1:123456789012:key/x"}), "kms:*"),
    "managed-admin": ("iam_least_privilege", set_path("aws_iam_role_policy_attachment.ssm.policy_arn", "arn:aws:iam::aws:policy/AdministratorAccess"), "AdministratorAccess is not reviewed"),
    "trust-anyone": ("iam_least_privilege", set_path("aws_iam_role.node.assume_role_policy", policy(
        {**ALLOW, "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})), "anyone may assume the role"),
    "unreadable-policy": ("iam_least_privilege", set_path("aws_iam_role_policy.node.policy", '{"Statement": [oops'), "not readable JSON"),
    "policy-document-star": ("iam_least_privilege", lambda d: (
        d["data"]["aws_iam_policy_document"].__setitem__("admin", {"statement": [{"effect": "Allow", "actions": ["*"], "resources": ["*"]}]}),
        set_path("aws_iam_role_policy.node.policy", "${data.aws_iam_policy_document.admin.json}")(d)), 'Action "*"'),
    # ---- secrets, in the JSON and in the decoded user data
    "pem-in-tag": ("no_secrets", set_path("aws_instance.rpc.tags.Key", "-----BEGIN OPENSSH PRIVATE KEY-----\nabc"), "private key (PEM)"),
    "seed-in-document": ("no_secrets", set_path("aws_ssm_document.rotate.content", json.dumps({"seed": SEED})), "0x-prefixed 32-byte hex"),
    "access-key-in-provider": ("no_secrets", lambda d: d["provider"]["aws"][0].__setitem__("access_key", "AKIAIOSFODNN7EXAMPLE"), "AWS access key id"),
    "secret-key-literal": ("no_secrets", lambda d: d["provider"]["aws"][0].__setitem__("secret_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), "literal value for secret attribute 'secret_key'"),
    "password-attribute": ("no_secrets", set_path("aws_launch_template.lt.password", "hunter22"), "secret attribute 'password'"),
    "mnemonic-in-user-data": ("no_secrets", user_data("validator", NODE_USER_DATA + f"      --key-phrase\n      {PHRASE}\n"), "12-word BIP39-like phrase"),
    "dev-phrase-in-user-data": ("no_secrets", user_data("rpc", TLS_USER_DATA + f"# {PHRASE}//Alice\n"), "BIP39-like phrase"),
    "seed-in-template-user-data": ("no_secrets", set_path("aws_launch_template.lt.user_data", b64gzip(f"#cloud-config\nruncmd:\n  - [echo, '{SEED}']\n")), "aws_launch_template.lt user data: 0x-prefixed"),
    "node-key-in-user-data": ("no_secrets", user_data("validator", NODE_USER_DATA + "      --node-key=" + "ab" * 32 + "\n"), "node key on the command line"),
    "password-in-user-data": ("no_secrets", user_data("validator", NODE_USER_DATA + "      --password=hunter22\n"), "password assignment"),
    "user-data-not-base64": ("no_secrets", set_path("aws_instance.rpc.user_data_base64", "not base64!"), "cannot be scanned"),
    # ---- validators
    "two-validators-one-name": ("validators_safe", lambda d: _res(d, "aws_instance").__setitem__(
        "validator-2", copy.deepcopy(d["resource"]["aws_instance"]["validator"])), "2 instances"),
    "validator-rpc-from-a-group": ("validators_safe", add_rule("val-rpc", sg_rule("val", 9944, referenced_security_group_id="sg-0123456789abcdef0")), "RPC port 9944 of validator"),
    "validator-all-ports-private": ("validators_safe", add_rule("val-all", {**sg_rule("val", 0, "-1", cidr_ipv4="10.0.0.0/8"), "from_port": None, "to_port": None}), "RPC port 9944"),
    "validator-volume-destroyable": ("validators_safe", set_path("aws_ebs_volume.val-data.lifecycle", DELETE), "without lifecycle.prevent_destroy"),
    "validator-without-volume": ("validators_safe", lambda d: d["resource"].pop("aws_volume_attachment"), "without an attached data volume"),
    "validator-autoscaled": ("validators_safe", set_path("aws_launch_template.lt.tag_specifications.0.tags.substrate:role", "validator"), "never be autoscaled"),
    "validator-count": ("validators_safe", set_path("aws_instance.validator.count", 2), "count/for_each"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_invariant_catches_its_violation(case):
    invariant, mutate, expected = BROKEN[case]
    document = good()
    mutate(document)
    violations = inv.INVARIANTS[invariant](document)
    assert any(expected in v for v in violations), f"{invariant} missed it: {violations}"


def test_every_invariant_has_a_failing_case():
    assert {invariant for invariant, _, _ in BROKEN.values()} == set(inv.INVARIANTS)


def test_allowed_exceptions_are_narrow():
    """What the invariants allow on purpose, and nothing next to it."""
    document = good()
    # The account root's kms:* is allowed only in a key policy, only for the root.
    assert inv.iam_least_privilege(document) == []
    # 443 is fine on the TLS node and the ALB, not on a group nothing terminates TLS on.
    assert any("tcp 443" in v for v in inv.no_public_ingress(
        {**document, "resource": {**document["resource"], "aws_instance": {}, "aws_lb": {}}}))
    # p2p on a non-default port only when the caller says it is the p2p port.
    moved = good()
    moved["resource"]["aws_vpc_security_group_ingress_rule"]["p2p"].update(from_port=30433, to_port=30433)
    assert inv.no_public_ingress(moved) != []
    assert inv.no_public_ingress(moved, p2p_ports=(30433, 30333, 30334)) == []


def test_secrets_are_reported_without_their_value():
    document = good()
    BROKEN["secret-key-literal"][1](document)
    assert not any("wJalrXUtnFEMI" in v for v in inv.no_secrets(document))


def test_prose_is_not_a_mnemonic():
    text = "# Runs on every boot and does nothing when the release on disk is already verified for this node\n"
    assert inv.mnemonic_phrases(text) == []
    assert inv.mnemonic_phrases(PHRASE) == [PHRASE]
    assert inv.mnemonic_phrases(" ".join(PHRASE.split()[:11])) == []


def test_bip39_wordlist_is_the_published_one():
    words = inv.bip39_words()
    assert len(words) == 2048 and {"abandon", "zoo"} <= words


def test_without_nulls_removes_nulls_at_every_depth():
    assert without_nulls({"a": None, "b": {"c": None, "d": [None, {"e": None, "f": 1}]}}) == {"b": {"d": [{"f": 1}]}}


def test_decode_user_data():
    assert decode_user_data(b64gzip("#cloud-config\n")) == "#cloud-config\n"
    assert decode_user_data(base64.b64encode(b"plain").decode()) == "plain"
    with pytest.raises(ValueError):
        decode_user_data("not base64!")


def test_tree_differences(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for root, text in ((first, "x"), (second, "y")):
        (root / "stacks" / "s").mkdir(parents=True)
        (root / "stacks" / "s" / "cdk.tf.json").write_text(text)
    (first / "manifest.json").write_text("{}")
    assert tree_differences(first, first) == []
    assert tree_differences(first, second) == ["only in the first run: manifest.json", "differs: stacks/s/cdk.tf.json"]
