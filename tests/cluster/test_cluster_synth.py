"""What an AutoscalingApiCluster synthesizes: the properties that keep unready nodes
out of service, WebSockets connected, upgrades rolling and the endpoint observable."""

from __future__ import annotations

import json
import re

import pytest
from cluster_stacks import CONFIGS, TOPIC, ZONE_ID
from helpers import booted_text, only, resources

from constructs_substrate import ports


def by_suffix(document: dict, kind: str, suffix: str) -> dict:
    found = {k: v for k, v in resources(document, kind).items() if k.rsplit("_", 1)[0].endswith(suffix)}
    assert len(found) == 1, f"expected one {kind} ending in {suffix!r}, found {sorted(resources(document, kind))}"
    return next(iter(found.values()))


def ref(kind: str, document: dict, suffix: str, attribute: str = "id") -> str:
    name = next(
        k for k in resources(document, kind)
        if k.rsplit("_", 1)[0] == suffix or k.rsplit("_", 1)[0].endswith("_" + suffix)
    )
    return f"${{{kind}.{name}.{attribute}}}"


# ---- load balancer ------------------------------------------------------------------


def test_https_listener_uses_the_validated_certificate_and_a_tls13_policy(stacks):
    document = stacks["default"]
    https = by_suffix(document, "aws_lb_listener", "https")
    assert https["port"] == 443 and https["protocol"] == "HTTPS"
    assert https["ssl_policy"].startswith("ELBSecurityPolicy-TLS13-")
    assert https["certificate_arn"] == ref("aws_acm_certificate_validation", document, "validation", "certificate_arn")
    assert https["default_action"][0]["fixed_response"]["status_code"] == "404"


def test_http_listener_only_redirects_to_https(stacks):
    http = by_suffix(stacks["default"], "aws_lb_listener", "_http")
    assert http["port"] == 80 and http["protocol"] == "HTTP"
    assert http["default_action"] == [
        {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}}
    ]


def test_alb_is_websocket_ready_and_drops_invalid_headers(stacks):
    alb = only(stacks["default"], "aws_lb")
    assert alb["load_balancer_type"] == "application" and alb["internal"] is False
    assert alb["idle_timeout"] == 3600
    assert alb["drop_invalid_header_fields"] is True
    assert alb["enable_deletion_protection"] is True
    assert alb["access_logs"]["enabled"] is True
    assert only(stacks["shared"], "aws_lb")["idle_timeout"] == 1800


def test_certificate_has_one_explicit_validation_record_per_name(stacks):
    document = stacks["default"]
    config = CONFIGS["default"]
    certificate = only(document, "aws_acm_certificate")
    assert certificate["domain_name"] == config.domain_name
    assert certificate["subject_alternative_names"] == list(config.extra_names)
    assert certificate["validation_method"] == "DNS"
    records = {k: v for k, v in resources(document, "aws_route53_record").items() if "validation" in k}
    assert len(records) == len(config.names)
    for name in config.names:
        (record,) = [r for r in records.values() if f'== "{name}"' in r["name"]]
        # One owner per record: never overwrite one another stack wrote.
        assert record["zone_id"] == ZONE_ID and "allow_overwrite" not in record
        for field in ("name", "type"):
            assert f'o.domain_name == "{name}"' in record[field] and "domain_validation_options" in record[field]
        assert f'o.domain_name == "{name}"' in record["records"][0]
        assert "count" not in record and "for_each" not in record
    validation = only(document, "aws_acm_certificate_validation")
    assert validation["certificate_arn"] == ref("aws_acm_certificate", document, "certificate", "arn")
    assert len(validation["validation_record_fqdns"]) == len(config.names)


def test_alias_record_points_the_regional_name_at_the_alb(stacks):
    document = stacks["default"]
    record = by_suffix(document, "aws_route53_record", "_dns")
    assert record["name"] == CONFIGS["default"].domain_name and record["type"] == "A"
    assert record["alias"]["evaluate_target_health"] is True
    assert record["alias"]["name"] == ref("aws_lb", document, "alb", "dns_name")


def rule_named(document: dict, suffix: str) -> dict:
    return resources(document, "aws_lb_listener_rule")[ref("aws_lb_listener_rule", document, suffix).split(".")[1]]


def test_host_rule_forwards_every_name_to_the_target_group(stacks):
    document = stacks["default"]
    assert len(resources(document, "aws_lb_listener_rule")) == 2
    rule = rule_named(document, "host-rule")
    assert rule["condition"] == [{"host_header": {"values": list(CONFIGS["default"].names)}}]
    assert rule["action"] == [{"type": "forward", "target_group_arn": ref("aws_lb_target_group", document, "target-group", "arn")}]
    assert rule["depends_on"] == [f"aws_lb_listener_rule.{ref('aws_lb_listener_rule', document, 'ready-rule').split('.')[1]}"]


def test_ready_path_of_every_name_reaches_the_probes(stacks):
    """Route53 checks https://<regional name>/ready: it must be answered by a ready
    node's probe (9955), not by the RPC port."""
    document = stacks["default"]
    rule = rule_named(document, "ready-rule")
    assert rule["condition"] == [
        {"host_header": {"values": list(CONFIGS["default"].names)}},
        {"path_pattern": {"values": ["/ready"]}},
    ]
    readiness = ref("aws_lb_target_group", document, "readiness-target-group", "arn")
    assert rule["action"] == [{"type": "forward", "target_group_arn": readiness}]
    group = resources(document, "aws_lb_target_group")[readiness.split(".")[1]]
    assert group["port"] == ports.PROBE and group["health_check"]["path"] == "/ready"
    assert group["health_check"]["port"] == str(ports.PROBE)


def test_access_log_bucket_is_private_encrypted_tls_only_and_expiring(stacks):
    document = stacks["default"]
    # The access-log bucket's settings (the stack's bootstrap bucket has its own: test_bundle_bucket.py).
    logs = lambda document, kind, id_: by_suffix(document, kind, f"access-logs_{id_}")  # noqa: E731
    encryption = logs(document, "aws_s3_bucket_server_side_encryption_configuration", "encryption")
    assert encryption["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"] == "AES256"
    block = logs(document, "aws_s3_bucket_public_access_block", "public-access-block")
    assert all(block[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    assert logs(document, "aws_s3_bucket_versioning", "versioning")["versioning_configuration"]["status"] == "Enabled"
    assert logs(document, "aws_s3_bucket_ownership_controls", "ownership")["rule"]["object_ownership"] == "BucketOwnerEnforced"
    rule = logs(document, "aws_s3_bucket_lifecycle_configuration", "lifecycle")["rule"][0]
    assert rule["status"] == "Enabled" and rule["expiration"] == [{"days": 90}]
    policy = json.loads(logs(document, "aws_s3_bucket_policy", "policy")["policy"])
    account, service, deny = policy["Statement"]
    # eu-central-1 opened before August 2022: its ELB account writes (tests/cluster/test_access_logs.py).
    assert account["Principal"] == {"AWS": "arn:aws:iam::054676820928:root"}
    assert service["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    for allow in (account, service):
        assert allow["Action"] == "s3:PutObject" and "/alb/AWSLogs/" in allow["Resource"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Principal"] == "*" and deny["Action"] == "s3:*" and len(deny["Resource"]) == 2
    (policy_id,) = [k for k in resources(document, "aws_s3_bucket_policy") if "_access-logs_" in k]
    assert only(document, "aws_lb")["depends_on"] == [f"aws_s3_bucket_policy.{policy_id}"]


def test_waf_rate_limits_per_ip_by_default(stacks):
    shared = only(stacks["shared"], "aws_wafv2_web_acl")  # LoadBalancerConfig's default
    assert shared["rule"][0]["statement"]["rate_based_statement"]["limit"] == 3000
    acl = only(stacks["default"], "aws_wafv2_web_acl")
    assert acl["scope"] == "REGIONAL" and acl["default_action"] == {"allow": {}}
    (rule,) = acl["rule"]
    assert rule["action"] == {"block": {}}
    assert rule["statement"]["rate_based_statement"] == {"limit": 6000, "aggregate_key_type": "IP", "evaluation_window_sec": 300}
    association = only(stacks["default"], "aws_wafv2_web_acl_association")
    assert association["resource_arn"] == ref("aws_lb", stacks["default"], "alb", "arn")
    logging = only(stacks["default"], "aws_wafv2_web_acl_logging_configuration")
    assert logging["logging_filter"]["default_behavior"] == "DROP"
    assert logging["logging_filter"]["filter"][0]["condition"][0]["action_condition"] == {"action": "BLOCK"}
    group = by_suffix(stacks["default"], "aws_cloudwatch_log_group", "waf_log-group")
    assert group["name"].startswith("aws-waf-logs-") and group["kms_key_id"].startswith("${aws_kms_key.")
    assert "aws_wafv2_web_acl" not in stacks["archive"]["resource"]


# ---- target group and health -------------------------------------------------------


def test_target_group_checks_the_readiness_probe_with_hysteresis(stacks):
    document = stacks["default"]
    group = resources(document, "aws_lb_target_group")[ref("aws_lb_target_group", document, "target-group").split(".")[1]]
    assert group["port"] == ports.RPC and group["protocol"] == "HTTP" and group["protocol_version"] == "HTTP1"
    assert group["health_check"] == {
        "enabled": True, "protocol": "HTTP", "port": str(ports.PROBE), "path": "/ready", "matcher": "200",
        "interval": 5, "timeout": 4, "healthy_threshold": 3, "unhealthy_threshold": 2,
    }
    assert group["deregistration_delay"] == "300"
    assert group["load_balancing_algorithm_type"] == "least_outstanding_requests"
    assert group["stickiness"]["enabled"] is False


# ---- instances ------------------------------------------------------------------------


def test_launch_template_imdsv2_encrypted_volumes_no_ssh(stacks):
    template = only(stacks["default"], "aws_launch_template")
    assert template["metadata_options"]["http_tokens"] == "required"
    assert template["metadata_options"]["http_put_response_hop_limit"] == 1
    assert "key_name" not in template
    root, data = template["block_device_mappings"]
    assert root["device_name"].startswith("${data.aws_ami.") and root["ebs"]["encrypted"] == "true"
    assert data["device_name"] == "/dev/sdf"
    assert data["ebs"]["encrypted"] == "true" and data["ebs"]["volume_type"] == "gp3"
    assert data["ebs"]["delete_on_termination"] == "true"
    assert data["ebs"]["volume_size"] == CONFIGS["default"].data_volume_gib
    # The parameter's snapshot id, or none while it holds a placeholder ("none" before a
    # snapshot source's first snapshot): the instance's restore then uses the next source.
    snapshot = re.fullmatch(r'\$\{startswith\((data\.aws_ssm_parameter\.[\w-]*snapshot[\w-]*\.insecure_value), "snap-"\) '
                            r'\? \1 : null\}', data["ebs"]["snapshot_id"])
    assert snapshot, data["ebs"]["snapshot_id"]
    assert template["iam_instance_profile"]["arn"].startswith("${aws_iam_instance_profile.")
    assert template["lifecycle"] == {"ignore_changes": ["image_id"]}
    assert template["update_default_version"] is True


def test_snapshot_parameter_is_read_from_ssm(stacks):
    parameters = {v["name"] for v in stacks["default"]["data"]["aws_ssm_parameter"].values()}
    assert "/substrate/polkadot/data-snapshot" in parameters


def test_instance_role_may_only_act_on_its_own_group(stacks):
    # Complete its launch lifecycle action, and report itself unhealthy (liveness watcher).
    document = stacks["default"]
    (policy,) = [p for k, p in resources(document, "aws_iam_role_policy").items() if k.startswith("api_")]
    bundle_read, lifecycle, health = json.loads(policy["policy"])["Statement"]
    # ... and read its own bootstrap bundle, that object only.
    (bundle_object,) = resources(document, "aws_s3_object").values()
    assert bundle_read["Action"] == ["s3:GetObject"]
    assert bundle_read["Resource"] == [bundle_object["bucket"].replace(".id}", ".arn}") + "/" + bundle_object["key"]]
    assert sorted(lifecycle["Action"]) == ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"]
    assert health["Action"] == ["autoscaling:SetInstanceHealth"] and health["Effect"] == "Allow"
    group = only(document, "aws_autoscaling_group")
    for statement in (lifecycle, health):
        (resource,) = statement["Resource"]
        assert resource.endswith(f":autoScalingGroup:*:autoScalingGroupName/{group['name']}")
    attachment = only(document, "aws_iam_role_policy_attachment")
    assert attachment["policy_arn"] == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


def test_group_uses_ec2_health_and_the_launch_hook(stacks):
    # Readiness (the target groups) routes; it never terminates: health check type EC2.
    group = only(stacks["default"], "aws_autoscaling_group")
    assert group["health_check_type"] == "EC2"
    assert group["health_check_grace_period"] == CONFIGS["default"].health_check_grace_seconds == 30
    assert group["initial_lifecycle_hook"] == [{
        "name": "wait-until-ready", "lifecycle_transition": "autoscaling:EC2_INSTANCE_LAUNCHING",
        "default_result": "ABANDON", "heartbeat_timeout": 7200,
    }]
    assert len(group["vpc_zone_identifier"]) == 2
    assert group["target_group_arns"] == [
        ref("aws_lb_target_group", stacks["default"], "target-group", "arn"),
        ref("aws_lb_target_group", stacks["default"], "readiness-target-group", "arn"),
    ]
    assert (group["min_size"], group["max_size"]) == (2, 6)
    assert group["wait_for_capacity_timeout"] == "0"


@pytest.mark.parametrize("stack", ["default", "shared", "archive"])
def test_desired_capacity_is_never_reset_by_an_apply(stacks, stack):
    for group in resources(stacks[stack], "aws_autoscaling_group").values():
        assert "desired_capacity" not in group
        assert "desired_capacity" in group["lifecycle"]["ignore_changes"]


def test_launch_template_changes_roll_by_instance_refresh(stacks):
    group = only(stacks["default"], "aws_autoscaling_group")
    assert group["launch_template"]["version"].endswith(".latest_version}")
    assert group["instance_refresh"] == {
        "strategy": "Rolling",
        "preferences": {"min_healthy_percentage": 100, "max_healthy_percentage": 200,
                        "instance_warmup": "30", "skip_matching": True},
    }


def test_user_data_carries_the_lifecycle_unit(stacks):
    template = only(stacks["default"], "aws_launch_template")
    cloud_config = booted_text(stacks["default"], template["user_data"])
    assert "substrate-lifecycle.service" in cloud_config
    assert "GROUP_NAME=" in cloud_config and "HOOK_NAME=wait-until-ready" in cloud_config
    assert "substrate-liveness.service" in cloud_config and "PROBE_LIVE_URL=http://127.0.0.1:9955/live" in cloud_config
    assert "--experimental-rpc-endpoint" in cloud_config and ",max-connections=" in cloud_config


# ---- scaling ---------------------------------------------------------------------------


def test_target_tracking_on_requests_per_target_and_cpu(stacks):
    document = stacks["default"]
    policies = {p["name"]: p for p in resources(document, "aws_autoscaling_policy").values()}
    requests = policies["alb-requests-per-instance"]["target_tracking_configuration"]
    assert requests["predefined_metric_specification"]["predefined_metric_type"] == "ALBRequestCountPerTarget"
    label = requests["predefined_metric_specification"]["resource_label"]
    assert label == f"{ref('aws_lb', document, 'alb', 'arn_suffix')}/{ref('aws_lb_target_group', document, 'target-group', 'arn_suffix')}"
    assert requests["target_value"] == 6000 and requests["disable_scale_in"] is False
    cpu = policies["average-cpu"]["target_tracking_configuration"]
    assert cpu["predefined_metric_specification"] == {"predefined_metric_type": "ASGAverageCPUUtilization"}
    assert cpu["target_value"] == 60
    assert all(p["policy_type"] == "TargetTrackingScaling" for p in policies.values())


def test_scale_in_can_be_left_to_operators(stacks):
    kusama = [p for k, p in resources(stacks["shared"], "aws_autoscaling_policy").items() if k.startswith("kusama_")]
    assert kusama and all(p["target_tracking_configuration"]["disable_scale_in"] is True for p in kusama)
    archive = resources(stacks["archive"], "aws_autoscaling_policy")
    assert [p["name"] for p in archive.values()] == ["average-cpu"]


# ---- alarms ------------------------------------------------------------------------------


def test_alarms_cover_healthy_hosts_error_rate_and_latency(stacks):
    document = stacks["default"]
    alarms = {a["alarm_name"].rsplit("-", 2)[-2] + "-" + a["alarm_name"].rsplit("-", 1)[-1]: a
              for a in resources(document, "aws_cloudwatch_metric_alarm").values()}
    assert set(alarms) == {"healthy-hosts", "ready-nodes", "unready-nodes", "error-rate", "response-time"}
    topic = ref("aws_sns_topic", document, "topic", "arn")
    for alarm in alarms.values():
        assert alarm["alarm_actions"] == [topic] and alarm["ok_actions"] == [topic]
    hosts = alarms["healthy-hosts"]
    assert hosts["metric_name"] == "HealthyHostCount" and hosts["comparison_operator"] == "LessThanThreshold"
    assert hosts["threshold"] == 2 and hosts["treat_missing_data"] == "breaching"
    # Chain-wide stall: no target healthy, the ALB fails open; alarm, never replace.
    none_ready = next(a for a in alarms.values() if a["alarm_name"].endswith("no-ready-nodes"))
    assert none_ready["metric_name"] == "HealthyHostCount" and none_ready["statistic"] == "Maximum"
    assert none_ready["threshold"] == 1 and none_ready["comparison_operator"] == "LessThanThreshold"
    assert none_ready["treat_missing_data"] == "breaching" and none_ready["evaluation_periods"] == 2
    assert none_ready["dimensions"] == hosts["dimensions"]
    stuck = alarms["unready-nodes"]
    assert stuck["metric_name"] == "UnHealthyHostCount" and stuck["statistic"] == "Minimum"
    assert stuck["comparison_operator"] == "GreaterThanOrEqualToThreshold" and stuck["evaluation_periods"] == 15
    queries = {q["id"]: q for q in alarms["error-rate"]["metric_query"]}
    assert queries["elb5xx"]["metric"]["metric_name"] == "HTTPCode_ELB_5XX_Count"
    assert queries["node5xx"]["metric"]["metric_name"] == "HTTPCode_Target_5XX_Count"
    assert queries["requests"]["metric"]["metric_name"] == "RequestCount"
    assert "elb5xx" in queries["rate"]["expression"] and queries["rate"]["return_data"] is True
    assert alarms["error-rate"]["threshold"] == 5
    latency = alarms["response-time"]
    assert latency["metric_name"] == "TargetResponseTime" and latency["extended_statistic"] == "p95"


def test_created_topic_is_encrypted_with_a_key_cloudwatch_may_use(stacks):
    document = stacks["default"]
    topic = only(document, "aws_sns_topic")
    assert topic["kms_master_key_id"] == ref("aws_kms_key", document, "alarms_key", "arn")
    key = by_suffix(document, "aws_kms_key", "alarms_key")
    statements = json.loads(key["policy"])["Statement"]
    cloudwatch = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch and set(cloudwatch[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert key["enable_key_rotation"] is True


def test_an_existing_topic_is_used_as_given(stacks):
    document = stacks["archive"]
    assert "aws_sns_topic" not in document["resource"]
    for alarm in resources(document, "aws_cloudwatch_metric_alarm").values():
        assert alarm["alarm_actions"] == [TOPIC]


# ---- outputs ------------------------------------------------------------------------------


def test_outputs(stacks):
    outputs = {k.rsplit("_", 1)[0]: v for k, v in stacks["default"]["output"].items() if k.startswith("api_")}
    domain = CONFIGS["default"].domain_name
    assert outputs["api_https_url"]["value"] == f"https://{domain}"
    assert outputs["api_wss_url"]["value"] == f"wss://{domain}"
    for key in ("alb_dns_name", "alb_zone_id", "target_group_arn", "asg_name", "alb_security_group_id",
                "instance_security_group_id", "alarm_topic_arn"):
        assert outputs[f"api_{key}"]["value"].startswith("${"), key


# ---- shared load balancer, spot, warm pool, archive restore --------------------------------


def test_clusters_share_one_alb_with_a_host_rule_and_certificate_each(stacks):
    document = stacks["shared"]
    assert len(resources(document, "aws_lb")) == 1
    assert len(resources(document, "aws_lb_listener")) == 2
    rules = sorted(resources(document, "aws_lb_listener_rule").values(), key=lambda r: r["priority"])
    assert [r["priority"] for r in rules] == [10, 11, 20, 21]
    assert [r["condition"][0]["host_header"]["values"] for r in rules] == [
        [CONFIGS["shared-polkadot"].domain_name]] * 2 + [[CONFIGS["shared-kusama"].domain_name]] * 2
    assert [len(r["condition"]) for r in rules] == [2, 1, 2, 1]
    https = ref("aws_lb_listener", document, "alb_https", "arn")
    assert {r["listener_arn"] for r in rules} == {https}
    certificates = resources(document, "aws_lb_listener_certificate")
    assert len(certificates) == 2 and {c["listener_arn"] for c in certificates.values()} == {https}
    assert len(resources(document, "aws_acm_certificate")) == 3
    assert len(resources(document, "aws_lb_target_group")) == 4


def test_spot_uses_a_mixed_instances_policy_with_an_on_demand_base(stacks):
    (group,) = [g for k, g in resources(stacks["shared"], "aws_autoscaling_group").items() if k.startswith("polkadot_")]
    assert "launch_template" not in group
    policy = group["mixed_instances_policy"]
    assert policy["instances_distribution"] == {
        "on_demand_base_capacity": 2, "on_demand_percentage_above_base_capacity": 0,
        "spot_allocation_strategy": "price-capacity-optimized",
    }
    assert [o["instance_type"] for o in policy["launch_template"]["override"]] == ["m7i.2xlarge", "m7a.2xlarge", "m6i.2xlarge"]
    assert policy["launch_template"]["launch_template_specification"]["version"].endswith(".latest_version}")
    assert group["capacity_rebalance"] is True


def test_warm_pool_keeps_stopped_instances(stacks):
    group = only(stacks["archive"], "aws_autoscaling_group")
    assert group["warm_pool"] == {"pool_state": "Stopped", "min_size": 1, "instance_reuse_policy": {"reuse_on_scale_in": True}}


def test_the_hook_never_changes_so_the_group_is_never_replaced(stacks):
    # The AWS provider replaces a group whose initial_lifecycle_hook changes: the hook
    # is the same whatever the config; the configured wait lives in the user data.
    hooks = [g["initial_lifecycle_hook"] for d in stacks.values() for g in resources(d, "aws_autoscaling_group").values()]
    assert len(hooks) == 4 and all(hook == hooks[0] for hook in hooks)
    assert CONFIGS["archive"].lifecycle_timeout_seconds == 21600
    assert CONFIGS["archive"].heartbeat_interval_seconds == 3600
    assert CONFIGS["default"].heartbeat_interval_seconds == 0


def test_archive_restore_is_installed_before_the_node_starts(stacks):
    template = only(stacks["archive"], "aws_launch_template")
    cloud_config = booted_text(stacks["archive"], template["user_data"])
    assert "substrate-node.service.d/restore-snapshot.conf" in cloud_config
    assert '"aria2"' in cloud_config and '"zstd"' in cloud_config
    data = template["block_device_mappings"][1]["ebs"]
    assert "snapshot_id" not in data
