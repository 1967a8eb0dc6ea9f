"""Every name we create is unique where AWS needs it unique, and within AWS's limits:
every catalog chain (chains.py) deployed into every supported region (regions.py),
with validators, a telemetry node and monitoring, all in one account.

Synthesized once for the module (~250 stacks), in one process per CPU.
Names are read from the JSON: a resource type or name attribute the table below does
not know fails the test, so a new resource gets a limit before it ships.

Limits: the AWS API references of each service (``Create*`` actions' length
constraints) and, for ``name_prefix``/``bucket_prefix``, the AWS provider's own limit
(the name less the 26 characters of Terraform's unique suffix).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from constructs_substrate.chains import CATALOG
from constructs_substrate.naming import CANARY_NAME_MAX, deployment_name, fit
from constructs_substrate.regions import REGION_CONTINENT

REGION, ACCOUNT, PARENT = "region", "account", "parent"
"""Where a name must be unique: per account and region, per account, or only within
its parent resource (a role's inline policies, a group's scaling policies)."""

LIMITS: dict[tuple[str, str], tuple[int, str, str]] = {
    # (resource type, attribute): (max length, allowed characters, uniqueness scope)
    ("aws_autoscaling_group", "name"): (255, r"[A-Za-z0-9._-]", REGION),
    ("aws_autoscaling_policy", "name"): (255, r"[A-Za-z0-9._-]", PARENT),
    ("aws_budgets_budget", "name"): (100, r"[^:\\]", ACCOUNT),
    ("aws_cloudwatch_dashboard", "dashboard_name"): (255, r"[A-Za-z0-9_-]", ACCOUNT),
    ("aws_cloudwatch_log_group", "name"): (512, r"[A-Za-z0-9_./#-]", REGION),
    ("aws_cloudwatch_log_group", "name_prefix"): (483, r"[A-Za-z0-9_./#-]", PARENT),
    ("aws_cloudwatch_metric_alarm", "alarm_name"): (255, r"[ -~]", REGION),
    ("aws_grafana_workspace", "name"): (255, r"[A-Za-z0-9._~-]", REGION),
    ("aws_iam_instance_profile", "name_prefix"): (38, r"[A-Za-z0-9+=,.@_-]", PARENT),
    ("aws_iam_role", "name_prefix"): (38, r"[A-Za-z0-9+=,.@_-]", PARENT),
    ("aws_iam_role_policy", "name"): (128, r"[A-Za-z0-9+=,.@_-]", PARENT),
    ("aws_kms_alias", "name"): (256, r"[A-Za-z0-9:/_-]", REGION),
    ("aws_launch_template", "name_prefix"): (102, r"[A-Za-z0-9()./_-]", PARENT),
    ("aws_lb", "name"): (32, r"[A-Za-z0-9-]", REGION),
    ("aws_lb_target_group", "name_prefix"): (6, r"[A-Za-z0-9-]", PARENT),
    ("aws_prometheus_rule_group_namespace", "name"): (64, r"[0-9A-Za-z_.-]", PARENT),
    ("aws_prometheus_workspace", "alias"): (100, r"[ -~]", REGION),
    ("aws_s3_bucket", "bucket_prefix"): (37, r"[a-z0-9.-]", PARENT),
    ("aws_security_group", "name_prefix"): (229, r"[ -~]", PARENT),
    ("aws_sns_topic", "name_prefix"): (230, r"[A-Za-z0-9_-]", PARENT),
    ("aws_ssm_association", "association_name"): (128, r"[A-Za-z0-9_.-]", REGION),
    ("aws_ssm_document", "name"): (128, r"[A-Za-z0-9_.-]", REGION),
    ("aws_ssm_parameter", "name"): (1011, r"[A-Za-z0-9_./-]", REGION),
    ("aws_synthetics_canary", "name"): (CANARY_NAME_MAX, r"[0-9a-z_-]", REGION),
    ("aws_wafv2_web_acl", "name"): (128, r"[A-Za-z0-9_-]", REGION),
}
NOT_NAMES = {
    ("aws_route53_record", "name"),  # DNS names: one owner each, tests/synth/test_shared_resources.py
    ("aws_ssm_association", "name"),  # the document run (AWS-RunShellScript), not a name we create
}
ACCOUNT_WIDE = {"aws_iam_role", "aws_iam_instance_profile", "aws_iam_role_policy", "aws_budgets_budget",
                "aws_cloudwatch_dashboard"}
SCRIPT = Path(__file__).with_name("names_synth.py")


@pytest.fixture(scope="module")
def synthesized() -> dict:
    """Every catalog chain in every supported region, synthesized by
    :mod:`names_synth` in one process per CPU (each a share of the regions; the
    ``-global`` and ``-validation`` stacks come from each process and are merged by
    resource address)."""
    regions = sorted(REGION_CONTINENT)
    workers = max(1, min(os.cpu_count() or 1, 4))
    shares = [regions[i::workers] for i in range(workers)]
    runs = [subprocess.Popen([sys.executable, str(SCRIPT), *share], stdout=subprocess.PIPE, text=True)
            for share in shares]
    results = []
    for run in runs:
        output, _ = run.communicate(timeout=900)
        assert run.returncode == 0, "names_synth.py failed (its error is above)"
        results.append(json.loads(output))
    names = {}
    for result in results:
        for stack, region, kind, address, attribute, value in result["names"]:
            names[(stack, kind, address, attribute)] = (stack, region, kind, attribute, value)
    return {"stacks": {s for r in results for s in r["stacks"]}, "names": sorted(names.values())}


@pytest.fixture(scope="module")
def names(synthesized) -> list[tuple[str, str, str, str, str]]:
    """(stack, region, resource type, attribute, name) of every literal name."""
    return [n for n in synthesized["names"] if (n[2], n[3]) not in NOT_NAMES
            and not (n[3] == "bucket" and n[2] != "aws_s3_bucket")]


def test_every_chain_and_region_was_built(synthesized):
    expected = {f"{chain}-{region}" for chain in CATALOG for region in REGION_CONTINENT}
    assert expected <= synthesized["stacks"]


def test_every_name_has_a_known_limit(names):
    unknown = sorted({(kind, attribute) for _, _, kind, attribute, _ in names} - set(LIMITS))
    assert not unknown, f"add the AWS limit of {unknown} to LIMITS"


def test_every_name_within_its_limit(names):
    too_long, bad = [], []
    for stack, _, kind, attribute, value in names:
        limit, allowed, _ = LIMITS[(kind, attribute)]
        if len(value) > limit:
            too_long.append((stack, kind, attribute, value, f"{len(value)} > {limit}"))
        if not re.fullmatch(f"(?:{allowed})+", value):
            bad.append((stack, kind, attribute, value))
    assert not too_long
    assert not bad


def test_every_name_unique_where_aws_requires(names):
    owners = defaultdict(list)
    for stack, region, kind, attribute, value in names:
        scope = LIMITS[(kind, attribute)][2]
        if scope == PARENT:
            continue
        where = "account" if scope == ACCOUNT or kind in ACCOUNT_WIDE else region
        owners[(kind, attribute, where, value)].append(stack)
    shared = {key: stacks for key, stacks in owners.items() if len(stacks) > 1}
    assert not shared


def test_monitoring_names_differ_per_chain_and_region():
    # asset-hub-polkadot and asset-hub-kusama once shared f"{chain[:8]}-{region}"[:20].
    names = {deployment_name(chain, region) for chain in CATALOG for region in (*REGION_CONTINENT, "global")}
    assert len(names) == len(CATALOG) * (len(REGION_CONTINENT) + 1)
    assert deployment_name("asset-hub-polkadot", "eu-central-1") != deployment_name("asset-hub-kusama", "eu-central-1")


def test_fit_keeps_different_names_different():
    long = "asset-hub-polkadot-ap-southeast-1-ws"
    assert fit("short", 21) == "short"
    assert len(fit(long, 21)) <= 21 and fit(long, 21) != fit(long.replace("polkadot", "kusama"), 21)
    assert fit(long, 21) == fit(long, 21)
