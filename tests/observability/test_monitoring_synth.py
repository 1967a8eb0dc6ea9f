"""``Monitoring`` synthesized: narrow assertions on the Terraform JSON of a full and a
minimal configuration (two synths for the whole module: importing the AWS bindings
is the slow part)."""

from __future__ import annotations

import base64
import json

import pytest
import yaml
from helpers import only, resources, synth, walk

from constructs_substrate.iam import NodeInstanceRole
from constructs_substrate.observability import Monitoring, MonitoringConfig
from constructs_substrate.observability.canary.package import build_zip, zip_digest
from constructs_substrate.observability.rules import rules_yaml

FULL = MonitoringConfig(
    name="polkadot-eu",
    notifications={"emails": ["ops@example.com"], "pagerduty_url": "https://events.pagerduty.com/integration/abc123/enqueue"},
    load_balancers=[{"name": "rpc", "load_balancer_arn_suffix": "app/rpc/0123", "target_group_arn_suffix": "targetgroup/rpc/4567"}],
    auto_scaling_groups=["polkadot-rpc"],
    health_checks=[{"name": "eu", "health_check_id": "abcd-1234"}],
    budget={"limit_usd": 1500, "cost_allocation_tag": ["chain", "polkadot"]},
    canary={"endpoints": ["wss://rpc.example.com", "wss://rpc-eu.example.com"]},
    grafana_workspace=True,
    thresholds={"minimum_node_version": "1.16.0"},
    expected_nodes=["val-1"],
)
MINIMAL = MonitoringConfig(
    name="kusama-us", workspace_id="ws-0123abcd-4567-89ef-0123-456789abcdef",
    notifications={"no_receiver_reason": "test stack without subscriptions"},
)


@pytest.fixture(scope="module")
def documents() -> dict[str, dict]:
    built = {}

    def full(stack):
        monitoring = Monitoring(stack, "monitoring", config=FULL)
        NodeInstanceRole(stack, "node-role", name_prefix="rpc-", statements=monitoring.node_statements())
        built["agent"] = monitoring.agent_config()

    docs = {"full": synth(full), "minimal": synth(lambda s: Monitoring(s, "monitoring", config=MINIMAL))}
    docs["agent"] = built["agent"]
    return docs


@pytest.fixture(scope="module")
def full(documents):
    return documents["full"]


@pytest.fixture(scope="module")
def minimal(documents):
    return documents["minimal"]


def ref(kind: str, document: dict, attribute: str, contains: str = "") -> str:
    names = [n for n in resources(document, kind) if contains in n]
    assert len(names) == 1, names
    return f"${{{kind}.{names[0]}.{attribute}}}"


def policy(resource: dict) -> list[dict]:
    return json.loads(resource["policy"])["Statement"]


# ---- metrics store and alerting -------------------------------------------------------------


def test_workspace_rules_and_alert_manager(full):
    workspace = only(full, "aws_prometheus_workspace")
    assert workspace["alias"] == "polkadot-eu"
    rules = only(full, "aws_prometheus_rule_group_namespace")
    assert rules["workspace_id"] == ref("aws_prometheus_workspace", full, "id")
    assert rules["data"] == rules_yaml(FULL.thresholds, FULL.expected_nodes)
    definition = only(full, "aws_prometheus_alert_manager_definition")
    inner = yaml.safe_load(yaml.safe_load(definition["definition"])["alertmanager_config"])
    (receiver,) = inner["receivers"]
    assert inner["route"]["receiver"] == receiver["name"]
    (sns,) = receiver["sns_configs"]
    assert sns["topic_arn"] == ref("aws_sns_topic", full, "arn", "alerts_topic")
    assert sns["sigv4"]["region"].startswith("${data.aws_region.") and "api_url" not in sns


def test_topic_is_encrypted_and_lets_amp_alarms_and_budgets_publish(full):
    topic_name = [n for n in resources(full, "aws_sns_topic") if "alerts_topic" in n][0]
    topic = resources(full, "aws_sns_topic")[topic_name]
    key_name = topic["kms_master_key_id"].split(".")[1]
    key = resources(full, "aws_kms_key")[key_name]
    assert key["enable_key_rotation"] is True
    (publishers,) = [s for s in policy(key) if s["Sid"] == "AlertPublishersEncrypt"]
    assert set(publishers["Principal"]["Service"]) == {"aps.amazonaws.com", "cloudwatch.amazonaws.com", "budgets.amazonaws.com"}
    topic_policy = next(p for n, p in resources(full, "aws_sns_topic_policy").items() if "alerts_policy" in n and "us-east" not in n)
    statements = {s["Sid"]: s for s in policy(topic_policy)}
    amp = statements["PrometheusAlertManagerPublishes"]
    assert amp["Principal"] == {"Service": "aps.amazonaws.com"}
    assert "sns:Publish" in amp["Action"]
    assert amp["Condition"]["ArnEquals"]["aws:SourceArn"] == ref("aws_prometheus_workspace", full, "arn")
    assert statements["AlarmsAndBudgetsPublish"]["Condition"]["StringEquals"]


def test_subscriptions_when_configured(full, minimal):
    subscriptions = list(resources(full, "aws_sns_topic_subscription").values())
    main = [s for s in subscriptions if "region" not in s]
    assert {(s["protocol"], s["endpoint"]) for s in main} == {
        ("email", "ops@example.com"), ("https", "https://events.pagerduty.com/integration/abc123/enqueue")
    }
    assert next(s for s in main if s["protocol"] == "https")["endpoint_auto_confirms"] is True
    assert all(s["region"] == "us-east-1" for s in subscriptions if s not in main)
    assert not resources(minimal, "aws_sns_topic_subscription")


def test_existing_workspace_is_used_not_created(minimal):
    assert not resources(minimal, "aws_prometheus_workspace")
    assert only(minimal, "aws_prometheus_rule_group_namespace")["workspace_id"] == MINIMAL.workspace_id
    topic_policy = only(minimal, "aws_sns_topic_policy")
    amp = next(s for s in policy(topic_policy) if s["Sid"] == "PrometheusAlertManagerPublishes")
    assert f"workspace/{MINIMAL.workspace_id}" in amp["Condition"]["ArnEquals"]["aws:SourceArn"]


# ---- the nodes' side --------------------------------------------------------------------------


def test_log_group_encrypted_with_retention(full):
    group = only(full, "aws_cloudwatch_log_group")
    assert group["name"] == "/substrate/polkadot-eu/journal" and group["retention_in_days"] == 365
    key_name = group["kms_key_id"].split(".")[1]
    key = resources(full, "aws_kms_key")[key_name]
    assert any(s["Sid"] == "CloudWatchLogsUse" for s in policy(key))


def test_remote_write_url_is_delivered_to_tagged_nodes(full):
    association = only(full, "aws_ssm_association")
    assert association["name"] == "AWS-RunShellScript"
    # This monitoring's nodes only (tests/synth/test_shared_resources.py: two apps, one region).
    assert association["targets"] == [{"key": "tag:substrate:monitoring", "values": ["polkadot-eu"]}]
    commands = association["parameters"]["commands"]
    assert f"'{ref('aws_prometheus_workspace', full, 'prometheus_endpoint')}api/v1/remote_write'" in commands
    assert "/etc/substrate/observability/remote-write-url" in commands and "try-restart prometheus" in commands


def test_node_statements_scope_writes_to_the_workspace_and_log_group(full, documents):
    node_policy = next(p for n, p in resources(full, "aws_iam_role_policy").items() if n.startswith("node-role"))
    statements = {s["Sid"]: s for s in policy(node_policy)}
    assert statements["MetricsRemoteWrite"] == {
        "Sid": "MetricsRemoteWrite", "Effect": "Allow", "Action": ["aps:RemoteWrite"],
        "Resource": [ref("aws_prometheus_workspace", full, "arn")],
    }
    group = ref("aws_cloudwatch_log_group", full, "arn")
    assert statements["JournalToCloudWatchLogs"]["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statements["JournalToCloudWatchLogs"]["Resource"] == [group, f"{group}:log-stream:*"]
    agent = documents["agent"]
    assert agent.logs.log_group_name == "/substrate/polkadot-eu/journal" and agent.metrics.url is None


def test_no_write_action_on_a_wildcard(full):
    write_verbs = ("Put", "Create", "Delete", "Update", "Write", "Publish", "Attach", "Set")
    for kind in ("aws_iam_role_policy",):
        for name, item in resources(full, kind).items():
            for statement in policy(item):
                if statement["Effect"] != "Allow" or "*" not in statement["Resource"]:
                    continue
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                risky = [a for a in actions if any(a.split(":")[1].startswith(v) for v in write_verbs)]
                assert not risky or statement.get("Condition"), (name, statement)


# ---- alarms, budget, dashboard ------------------------------------------------------------------


def alarms(document: dict) -> dict[str, dict]:
    return {a["alarm_name"].split("-", 2)[-1]: a for a in resources(document, "aws_cloudwatch_metric_alarm").values()}


def test_load_balancer_alarms(full):
    by_name = alarms(full)
    unhealthy = by_name["rpc-unhealthy-hosts"]
    assert unhealthy["metric_name"] == "UnHealthyHostCount" and unhealthy["namespace"] == "AWS/ApplicationELB"
    assert unhealthy["dimensions"] == {"LoadBalancer": "app/rpc/0123", "TargetGroup": "targetgroup/rpc/4567"}
    errors = by_name["rpc-5xx"]
    queries = {q["id"]: q for q in errors["metric_query"]}
    assert queries["elb"]["metric"]["metric_name"] == "HTTPCode_ELB_5XX_Count"
    assert queries["target"]["metric"]["metric_name"] == "HTTPCode_Target_5XX_Count"
    assert queries["percent"]["return_data"] is True and errors["threshold"] == 5
    topic = ref("aws_sns_topic", full, "arn", "alerts_topic")
    assert unhealthy["alarm_actions"] == [topic] and errors["ok_actions"] == [topic]


def test_capacity_alarm_compares_in_service_with_desired(full):
    capacity = alarms(full)["asg-0-capacity"]
    queries = {q["id"]: q for q in capacity["metric_query"]}
    assert queries["desired"]["metric"]["metric_name"] == "GroupDesiredCapacity"
    assert queries["inservice"]["metric"]["metric_name"] == "GroupInServiceInstances"
    assert queries["desired"]["metric"]["dimensions"] == {"AutoScalingGroupName": "polkadot-rpc"}
    assert queries["shortfall"]["expression"] == "desired - inservice"
    assert capacity["comparison_operator"] == "GreaterThanThreshold" and capacity["threshold"] == 0
    assert capacity["evaluation_periods"] == 30


def test_route53_alarm_lives_in_us_east_1(full):
    alarm = alarms(full)["health-check-eu"]
    assert alarm["region"] == "us-east-1" and alarm["namespace"] == "AWS/Route53"
    assert alarm["dimensions"] == {"HealthCheckId": "abcd-1234"} and alarm["metric_name"] == "HealthCheckStatus"
    east_topic = ref("aws_sns_topic", full, "arn", "us-east-1")
    assert alarm["alarm_actions"] == [east_topic]
    assert resources(full, "aws_sns_topic")[east_topic.split(".")[1]]["region"] == "us-east-1"


def test_budget(full, minimal):
    budget = only(full, "aws_budgets_budget")
    assert (budget["budget_type"], budget["time_unit"], budget["limit_amount"], budget["limit_unit"]) == ("COST", "MONTHLY", "1500.00", "USD")
    assert {(n["notification_type"], n["threshold"]) for n in budget["notification"]} == {("ACTUAL", 80), ("ACTUAL", 100), ("FORECASTED", 100)}
    topic = ref("aws_sns_topic", full, "arn", "alerts_topic")
    assert all(n["subscriber_sns_topic_arns"] == [topic] and n["subscriber_email_addresses"] == ["ops@example.com"] for n in budget["notification"])
    assert budget["cost_filter"] == [{"name": "TagKeyValue", "values": ["user:chain$polkadot"]}]
    assert not resources(minimal, "aws_budgets_budget")


def test_cloudwatch_dashboard(full, minimal):
    body = json.loads(only(full, "aws_cloudwatch_dashboard")["dashboard_body"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert "rpc: requests and 5xx" in titles and "polkadot-rpc: desired vs in service" in titles
    route53 = next(w for w in body["widgets"] if w["properties"]["title"].startswith("Route53"))
    assert route53["properties"]["region"] == "us-east-1"
    canary = next(w for w in body["widgets"] if w["properties"]["title"] == "Canary success percent")
    assert canary["properties"]["metrics"] == [["CloudWatchSynthetics", "SuccessPercent", "CanaryName", "polkadot-eu-ws"]]
    empty = json.loads(only(minimal, "aws_cloudwatch_dashboard")["dashboard_body"])
    assert empty["widgets"][0]["type"] == "text"


# ---- canary ---------------------------------------------------------------------------------------


def test_canary(full):
    canary = only(full, "aws_synthetics_canary")
    assert canary["name"] == "polkadot-eu-ws" and len(canary["name"]) <= 21
    assert canary["runtime_version"] == "syn-python-selenium-14.0" and canary["handler"] == "canary_handler.handler"
    assert canary["s3_key"] == ref("aws_s3_object", full, "key")
    assert canary["artifact_s3_location"] == f"s3://{ref('aws_s3_bucket', full, 'id')}/runs/"
    env = canary["run_config"]["environment_variables"]
    assert env["SUBSTRATE_ENDPOINTS"] == "wss://rpc.example.com,wss://rpc-eu.example.com"
    assert canary["run_config"]["timeout_in_seconds"] <= 300 and canary["start_canary"] is True
    code = only(full, "aws_s3_object")
    package = build_zip()
    assert base64.b64decode(code["content_base64"]) == package
    assert code["key"] == f"code/{zip_digest(package)[:32]}.zip"
    alarm = alarms(full)["canary-failed"]
    assert (alarm["namespace"], alarm["metric_name"], alarm["threshold"]) == ("CloudWatchSynthetics", "SuccessPercent", 100)
    assert alarm["comparison_operator"] == "LessThanThreshold" and alarm["treat_missing_data"] == "breaching"


def test_canary_bucket_is_private_encrypted_tls_only_and_expires_runs(full):
    block = only(full, "aws_s3_bucket_public_access_block")
    assert all(block[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    encryption = only(full, "aws_s3_bucket_server_side_encryption_configuration")["rule"][0]
    key = ref("aws_kms_key", full, "arn", "canary")
    assert encryption["apply_server_side_encryption_by_default"] == {"sse_algorithm": "aws:kms", "kms_master_key_id": key}
    assert only(full, "aws_synthetics_canary")["artifact_config"]["s3_encryption"] == {"encryption_mode": "SSE_KMS", "kms_key_arn": key}
    assert only(full, "aws_s3_bucket_versioning")["versioning_configuration"] == {"status": "Enabled"}
    (deny,) = policy(only(full, "aws_s3_bucket_policy"))
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    runs, clean_up = only(full, "aws_s3_bucket_lifecycle_configuration")["rule"]
    assert runs["filter"] == [{"prefix": "runs/"}] and runs["expiration"] == [{"days": 14}]
    assert clean_up["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 1}]
    assert only(full, "aws_s3_bucket_ownership_controls")["rule"]["object_ownership"] == "BucketOwnerEnforced"


def test_canary_role_is_least_privilege(full):
    role = next(r for n, r in resources(full, "aws_iam_role").items() if "canary" in n)
    assert json.loads(role["assume_role_policy"])["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    canary_policy = next(p for n, p in resources(full, "aws_iam_role_policy").items() if "canary" in n)
    statements = {s["Sid"]: s for s in policy(canary_policy)}
    bucket = ref("aws_s3_bucket", full, "arn")
    assert statements["WriteRunArtifacts"]["Resource"] == [f"{bucket}/runs/*"]
    assert statements["CanaryMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "CloudWatchSynthetics"}}
    assert all("/aws/lambda/cwsyn-polkadot-eu-ws-*" in r for r in statements["CanaryLogs"]["Resource"])
    assert statements["EncryptRunArtifacts"]["Resource"] == [ref("aws_kms_key", full, "arn", "canary")]


def test_grafana_workspace_optional(full, minimal):
    workspace = only(full, "aws_grafana_workspace")
    assert workspace["data_sources"] == ["PROMETHEUS", "CLOUDWATCH"] and workspace["permission_type"] == "CUSTOMER_MANAGED"
    assert workspace["role_arn"] == ref("aws_iam_role", full, "arn", "grafana")
    assert not resources(minimal, "aws_grafana_workspace")


def test_minimal_config_creates_only_the_core(minimal):
    assert set(minimal["resource"]) == {
        "aws_prometheus_rule_group_namespace", "aws_prometheus_alert_manager_definition", "aws_kms_key",
        "aws_sns_topic", "aws_sns_topic_policy", "aws_ssm_association", "aws_cloudwatch_log_group",
        "aws_cloudwatch_dashboard",
    }


def test_outputs(full):
    names = {name.split("_", 1)[1].rsplit("_", 1)[0] for name in full["output"]}
    assert {"workspace_id", "remote_write_url", "alert_topic_arn", "log_group", "dashboard_name", "canary_name", "grafana_url"} <= names


def test_no_null_attributes(full):
    """Explicit nulls hide findings from scanners (see the brief's checkov note)."""
    assert not [v for v in walk(full["resource"]) if v is None]
