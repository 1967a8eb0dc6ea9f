"""Validation of the observability models: one case per rule, errors name the field."""

from __future__ import annotations

import pytest

from constructs_substrate.errors import ConfigError
from constructs_substrate.observability import (
    AgentConfig,
    AmpRemoteWrite,
    BasicAuthRemoteWrite,
    CanaryConfig,
    CloudWatchLogs,
    MonitoringConfig,
)
from constructs_substrate.observability.iam import agent_statements, canary_statements

LB = {"name": "rpc", "load_balancer_arn_suffix": "app/rpc/1", "target_group_arn_suffix": "targetgroup/rpc/2"}


@pytest.mark.parametrize("build,field", [
    (lambda: MonitoringConfig(name="Polkadot"), "MonitoringConfig.name"),
    (lambda: MonitoringConfig(name="p", ), "MonitoringConfig.name"),
    (lambda: MonitoringConfig(name="polkadot", log_retention_days=10), "MonitoringConfig.log_retention_days"),
    (lambda: MonitoringConfig(name="polkadot", notifications={"emails": ["not-an-email"]}), "MonitoringConfig.notifications.emails"),
    (lambda: MonitoringConfig(name="polkadot", notifications={"pagerduty_url": "http://example.com"}), "MonitoringConfig.notifications.pagerduty_url"),
    (lambda: MonitoringConfig(name="polkadot", load_balancers=[{**LB, "load_balancer_arn_suffix": "net/x/1"}]), "MonitoringConfig.load_balancers.0.load_balancer_arn_suffix"),
    (lambda: MonitoringConfig(name="polkadot", load_balancers=[LB, LB]), "MonitoringConfig.load_balancers"),
    (lambda: MonitoringConfig(name="polkadot", expected_nodes=["has space"]), "MonitoringConfig.expected_nodes"),
    (lambda: MonitoringConfig(name="polkadot", thresholds={"minimum_node_version": "1.16"}), "MonitoringConfig.thresholds.minimum_node_version"),
    (lambda: MonitoringConfig(name="polkadot", thresholds={"minimum_node_version": "0.0.0"}), "MonitoringConfig.thresholds.minimum_node_version"),
    (lambda: MonitoringConfig(name="polkadot", budget={"limit_usd": 0}), "MonitoringConfig.budget.limit_usd"),
    (lambda: MonitoringConfig(name="polkadot", typo=1), "MonitoringConfig.typo"),
    (lambda: CanaryConfig(endpoints=[]), "CanaryConfig.endpoints"),
    (lambda: CanaryConfig(endpoints=["https://rpc.example.com"]), "CanaryConfig.endpoints"),
    (lambda: CanaryConfig(endpoints=["wss://x.example.com"], runtime_version="syn-nodejs-puppeteer-9.0"), "CanaryConfig.runtime_version"),
    (lambda: CanaryConfig(endpoints=[f"wss://rpc-{i}.example.com" for i in range(5)], schedule_minutes=1), "CanaryConfig.endpoints"),
    (lambda: MonitoringConfig(name="polkadot", canary={"endpoints": [f"wss://r{i}.example.com" for i in range(9)]}), "MonitoringConfig.canary.endpoints"),
    (lambda: AmpRemoteWrite(url="https://example.com/api/v1/write"), "AmpRemoteWrite.url"),
    (lambda: BasicAuthRemoteWrite(url="http://example.com/push", username="u"), "BasicAuthRemoteWrite.url"),
    (lambda: AgentConfig(journal_units=["fluent-bit.service"]), "AgentConfig.journal_units"),
    (lambda: AgentConfig(journal_units=["rm -rf"]), "AgentConfig.journal_units"),
    (lambda: AgentConfig(fluent_bit_version="latest"), "AgentConfig.fluent_bit_version"),
    (lambda: CloudWatchLogs(log_group_name="has space"), "CloudWatchLogs.log_group_name"),
])
def test_invalid_values_name_their_field(build, field):
    with pytest.raises(ConfigError) as info:
        build()
    assert field in info.value.fields, str(info.value)


def test_terraform_references_are_accepted_unchecked():
    config = MonitoringConfig(name="polkadot", load_balancers=[{**LB, "load_balancer_arn_suffix": "${aws_lb.x.arn_suffix}"}])
    assert config.load_balancers[0].load_balancer_arn_suffix.startswith("${")


def test_agent_config_discriminates_destinations():
    agent = AgentConfig(metrics={"kind": "basic_auth", "url": "https://m.example.com/push", "username": "u"},
                        logs={"kind": "cloudwatch", "log_group_name": "/x"})
    assert isinstance(agent.metrics, BasicAuthRemoteWrite) and isinstance(agent.logs, CloudWatchLogs)


def test_every_field_documents_its_default():
    from constructs_substrate.observability import agent_config, config

    models = [getattr(module, name) for module in (agent_config, config) for name in dir(module)]
    models = [m for m in models if isinstance(m, type) and hasattr(m, "model_fields") and m.__module__.startswith("constructs_substrate.observability")]
    missing = [f"{m.__name__}.{n}" for m in models for n, f in m.model_fields.items() if not (f.description or "").strip()]
    assert missing == []
    undocumented_default = [
        f"{m.__name__}.{n}" for m in models for n, f in m.model_fields.items()
        if not f.is_required() and "Default" not in (f.description or "")
    ]
    assert undocumented_default == []


def test_agent_statements_are_scoped():
    statements = agent_statements(workspace_arn="arn:ws", log_group_arn="arn:lg", opensearch_domain_arn="arn:os")
    resources = [r for s in statements for r in s["Resource"]]
    assert "*" not in resources
    assert resources == ["arn:ws", "arn:lg", "arn:lg:log-stream:*", "arn:os/*"]
    assert agent_statements() == []


def test_canary_statements_only_read_on_wildcards():
    statements = canary_statements(bucket_arn="arn:b", artifact_prefix="runs/", log_group_arn_prefix="arn:lg")
    for statement in statements:
        if "*" in statement["Resource"]:
            assert statement["Action"] == ["s3:ListAllMyBuckets"] or statement.get("Condition")
