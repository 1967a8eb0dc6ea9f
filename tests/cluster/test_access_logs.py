"""ALB access log delivery per Region: the bucket policy lets the writer AWS documents
for that Region put objects (the Region's ELB account before August 2022, the log
delivery service principal after), nobody else."""

from __future__ import annotations

import json

import pytest
from helpers import only, synth

from constructs_substrate.cluster.access_logs import ELB_ACCOUNT_IDS, LOG_DELIVERY_PRINCIPAL, AccessLogBucket
from constructs_substrate.regions import REGION_CONTINENT
from constructs_substrate.settings import DeploymentSettings

DOCUMENTED = {"eu-central-1": "054676820928", "us-east-1": "127311923021", "ap-southeast-1": "114774131450"}
"""From the AWS page "Enable access logs for your Application Load Balancer" (the
default regions of the example apps)."""
NEWER = ("eu-central-2", "me-central-1", "ap-southeast-4", "il-central-1", "ca-west-1", "mx-central-1")
"""Regions opened in August 2022 or later: no ELB account, only the service principal."""


def _writers(region: str) -> list[dict]:
    document = synth(lambda stack: AccessLogBucket(stack, "logs", name_prefix="t-", retention_days=30), region=region)
    statements = json.loads(only(document, "aws_s3_bucket_policy")["policy"])["Statement"]
    writes = [s for s in statements if s["Effect"] == "Allow"]
    assert all(s["Action"] == "s3:PutObject" and s["Resource"].endswith("/*") and "/alb/AWSLogs/" in s["Resource"]
               for s in writes)
    return [s["Principal"] for s in writes]


@pytest.mark.parametrize("region", sorted(REGION_CONTINENT))
def test_every_region_grants_its_documented_writer(region):
    writers = _writers(region)
    assert {"Service": LOG_DELIVERY_PRINCIPAL} in writers
    accounts = [w["AWS"] for w in writers if "AWS" in w]
    if region in ELB_ACCOUNT_IDS:
        assert accounts == [f"arn:aws:iam::{ELB_ACCOUNT_IDS[region]}:root"]
    else:
        assert accounts == []


def test_the_default_regions_get_their_elb_account():
    assert set(DeploymentSettings().regions) <= set(DOCUMENTED)
    for region, account in DOCUMENTED.items():
        assert ELB_ACCOUNT_IDS[region] == account
        assert {"AWS": f"arn:aws:iam::{account}:root"} in _writers(region)


def test_newer_regions_only_the_service_principal():
    for region in NEWER:
        assert region in REGION_CONTINENT and region not in ELB_ACCOUNT_IDS
    assert set(ELB_ACCOUNT_IDS) <= set(REGION_CONTINENT)


def test_a_region_known_only_at_deploy_time_grants_every_elb_account():
    from constructs_substrate._framework import App, SynthTesting, TerraformStack, aws

    stack = TerraformStack(App(stack_traces=False), "no-region")
    aws("provider").AwsProvider(stack, "aws")  # region from AWS_REGION when applied
    assert AccessLogBucket(stack, "logs", name_prefix="t-", retention_days=30).region is None
    policy = next(iter(json.loads(SynthTesting.synth(stack))["resource"]["aws_s3_bucket_policy"].values()))
    principals = [s["Principal"] for s in json.loads(policy["policy"])["Statement"] if s["Effect"] == "Allow"]
    assert principals == [
        {"AWS": [f"arn:aws:iam::{a}:root" for a in sorted(ELB_ACCOUNT_IDS.values())]},
        {"Service": LOG_DELIVERY_PRINCIPAL},
    ]
