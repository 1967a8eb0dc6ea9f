"""The stack's bootstrap bucket as synthesized: one per stack and provider, private,
encrypted, TLS-only, versioned; one object per node holding exactly its bundle; each
instance role may read only its own object; the user data names that object."""

from __future__ import annotations

import base64
import json

from helpers import booted_text, resources, synth

from constructs_substrate import NodeConfig, SubstrateNode
from constructs_substrate._framework import App, TerraformStack, aws
from constructs_substrate.bootstrap import bundle
from constructs_substrate.bootstrap.bundle_bucket import BootstrapBucket, bucket_prefix, bundle_source

SUBNET = "subnet-0123456789abcdef0"


def two_nodes(stack) -> None:
    SubstrateNode(stack, "rpc-1", config=NodeConfig(role="rpc", name="rpc-1"), subnet_id=SUBNET)
    SubstrateNode(stack, "val-1", config=NodeConfig(role="validator", name="val-1"), subnet_id=SUBNET)


def by_id(document: dict, kind: str, part: str) -> dict:
    (found,) = [v for k, v in resources(document, kind).items() if f"_{part}_" in f"_{k}"]
    return found


def test_one_bucket_for_the_stack_one_object_per_node_each_role_reads_its_own():
    document = synth(two_nodes)
    (bucket,) = resources(document, "aws_s3_bucket").values()
    assert bucket["bucket"].startswith("test-") and "-boot-${data.aws_caller_identity." in bucket["bucket"]
    assert bucket["bucket"].endswith(".region}")
    objects = resources(document, "aws_s3_object")
    assert len(objects) == 2 and len({o["key"] for o in objects.values()}) == 2
    policies = {k.split("_")[0]: json.loads(v["policy"]) for k, v in resources(document, "aws_iam_role_policy").items()}
    for node in ("rpc-1", "val-1"):
        (item,) = [o for k, o in objects.items() if k.startswith(f"{node}_")]
        (read,) = [s for s in policies[node]["Statement"] if s.get("Sid") == "ReadOwnBootstrapBundle"]
        bucket_arn = item["bucket"].replace(".id}", ".arn}")
        assert read == {"Sid": "ReadOwnBootstrapBundle", "Effect": "Allow", "Action": ["s3:GetObject"],
                        "Resource": [f"{bucket_arn}/{item['key']}"]}
        instance = next(v for k, v in resources(document, "aws_instance").items() if k.startswith(f"{node}_"))
        # The user data pins this object (booted_text checks key and SHA-256) ...
        text = booted_text(document, instance["user_data_base64"])
        assert f"--name\n{node}\n" in text
        # ... and the instance waits for it and for the role's policy.
        assert any(d.startswith("aws_s3_object.") for d in instance["depends_on"])
        assert any(d.startswith("aws_iam_role_policy.") for d in instance["depends_on"])
        data = base64.b64decode(item["content_base64"])
        assert data[:2] == b"\x1f\x8b" and item["content_type"] == "application/gzip"
        assert bundle.unpacked(data)[0][0] == "/etc/substrate/bootstrap.env"


def test_bucket_is_private_encrypted_tls_only_and_versioned():
    document = synth(two_nodes)
    block = by_id(document, "aws_s3_bucket_public_access_block", "public-access-block")
    assert all(block[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    rule = by_id(document, "aws_s3_bucket_server_side_encryption_configuration", "encryption")["rule"][0]
    assert rule["apply_server_side_encryption_by_default"]["sse_algorithm"] == "AES256"
    assert by_id(document, "aws_s3_bucket_ownership_controls", "ownership")["rule"]["object_ownership"] == "BucketOwnerEnforced"
    assert by_id(document, "aws_s3_bucket_versioning", "versioning")["versioning_configuration"]["status"] == "Enabled"
    lifecycle = by_id(document, "aws_s3_bucket_lifecycle_configuration", "lifecycle")["rule"][0]
    assert lifecycle["noncurrent_version_expiration"] == [{"noncurrent_days": 30}]
    (statement,) = json.loads(by_id(document, "aws_s3_bucket_policy", "policy")["policy"])["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_an_aliased_provider_gets_a_bucket_of_its_own():
    def build(stack):
        other = aws("provider").AwsProvider(stack, "us", region="us-east-1", alias="us")
        SubstrateNode(stack, "eu-node", config=NodeConfig(role="rpc", name="eu"), subnet_id=SUBNET)
        SubstrateNode(stack, "us-node", config=NodeConfig(role="rpc", name="us"), subnet_id=SUBNET, provider=other)

    document = synth(build)
    buckets = resources(document, "aws_s3_bucket")
    assert len(buckets) == 2
    prefixes = {b["bucket"].split("${")[0] for b in buckets.values()}
    assert len(prefixes) == 2
    us_bucket = next(v for v in buckets.values() if v.get("provider") == "aws.us")
    (us_object,) = [o for k, o in resources(document, "aws_s3_object").items() if k.startswith("us-node_")]
    assert us_object["provider"] == "aws.us"
    assert us_object["bucket"] == "${aws_s3_bucket." + next(k for k, v in buckets.items() if v is us_bucket) + ".id}"


def test_names_fit_s3_for_long_stack_ids_and_the_longest_region():
    app = App(stack_traces=False)
    stack = TerraformStack(app, "A-Very_Long.Stack-Name-Of-Some-Application-Deployed-Everywhere")
    prefix = bucket_prefix(stack)
    name = f"{prefix}123456789012-us-isof-southeast-1"
    assert len(name) <= 63 and name == name.lower() and prefix.endswith("-boot-")
    source = bundle_source(stack, "node_with weird/id" * 8)
    assert source.key.startswith("nodes/") and len(source.key) < 200
    assert BootstrapBucket.of(stack) is BootstrapBucket.of(stack)
