"""``Monitoring``: one region's metrics store, alerting, logs, alarms, dashboards and
synthetic checks (see docs/observability.md).

Nodes take part through two hooks, both pure data: :meth:`Monitoring.agent_config`
(their agents' destinations, for
:func:`~constructs_substrate.observability.agent_extension`) and
:meth:`Monitoring.node_statements` (the IAM statements their instance role needs).
"""

from __future__ import annotations

import json

from .._framework import Construct, TerraformOutput, aws
from ..errors import ConfigError
from ..kms import LogsKey
from ..naming import name_prefix
from .agent_config import AgentConfig, AmpRemoteWrite, CloudWatchLogs
from .alarms import AwsAlarms
from .alertmanager import alert_manager_definition
from .cloudwatch_dashboard import ROUTE53_REGION, dashboard_body
from .config import BudgetConfig, MonitoringConfig
from .iam import agent_statements
from .notifications import AlertTopic
from .rules import GROUP_NAME, rules_yaml
from .synthetics import SyntheticCheck, canary_name

URL_DELIVERY_SCHEDULE = "rate(30 minutes)"
GRAFANA_QUERY_POLICY = "arn:aws:iam::aws:policy/AmazonPrometheusQueryAccess"
GRAFANA_CLOUDWATCH_POLICY = "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"


def url_delivery_script(url: str, path: str) -> str:
    """The shell the SSM association runs on every node: write the remote_write URL
    where the agent reads it, restarting the agent only when it changed."""
    directory = path.rsplit("/", 1)[0]
    return "\n".join([
        "set -eu",
        f"install -d -m 0755 {directory}",
        f"printf '%s\\n' '{url}' > {path}.new",
        f"if cmp -s {path}.new {path}; then rm -f {path}.new; else",
        f"  mv -f {path}.new {path}",
        "  systemctl try-restart prometheus.service || true",
        "fi",
    ])


class Monitoring(Construct):
    """Monitoring of the nodes of one region.

    :param config: what to create (validated before any resource exists).
    :param provider: AWS provider. Default: the stack's default provider.

    Creates: an Amazon Managed Service for Prometheus workspace (unless
    ``config.workspace_id``) with the alert rules and an alert manager routing to an
    encrypted SNS topic (e-mail / PagerDuty subscriptions); an SSM association that
    hands the workspace's remote_write URL to this monitoring's nodes (tag
    ``<node_tag_key>=<name>``, set by :meth:`agent_config`); the nodes' log group (KMS,
    retention); CloudWatch alarms for load balancers, Auto Scaling groups and Route53
    health checks; a monthly budget; a CloudWatch dashboard; the synthetic WebSocket
    canary; optionally an Amazon Managed Grafana workspace.

    Attributes (escape hatches): ``workspace`` (or ``None``), ``workspace_id``,
    ``workspace_arn``, ``remote_write_url``, ``rule_groups``, ``alert_manager``,
    ``topic`` (:class:`AlertTopic`), ``url_delivery``, ``logs_key``, ``log_group``,
    ``alarms`` (:class:`AwsAlarms`), ``us_east_1_topic`` / ``budget`` / ``canary``
    (:class:`SyntheticCheck`) / ``grafana`` / ``grafana_role`` (or ``None``),
    ``dashboard``, ``config``.
    """

    def __init__(self, scope: Construct, id: str, *, config: MonitoringConfig, provider=None) -> None:
        if not isinstance(config, MonitoringConfig):
            raise ConfigError.of("config", "must be a constructs_substrate.observability.MonitoringConfig", "Monitoring")
        super().__init__(scope, id)
        self.config = config
        prefix = name_prefix(self)
        identity = aws("data_aws_caller_identity").DataAwsCallerIdentity(self, "account", provider=provider)
        region = aws("data_aws_region").DataAwsRegion(self, "region", provider=provider).region
        tags = {"substrate:monitoring": config.name}

        # -- metrics store ---------------------------------------------------------
        self.workspace = None
        if config.workspace_id is None:
            self.workspace = aws("prometheus_workspace").PrometheusWorkspace(
                self, "workspace", alias=config.name, tags=tags, provider=provider
            )
            self.workspace_id = self.workspace.id
            self.workspace_arn = self.workspace.arn
            endpoint = self.workspace.prometheus_endpoint
        else:
            self.workspace_id = config.workspace_id
            self.workspace_arn = f"arn:aws:aps:{region}:{identity.account_id}:workspace/{config.workspace_id}"
            endpoint = f"https://aps-workspaces.{region}.amazonaws.com/workspaces/{config.workspace_id}/"
        self.remote_write_url = f"{endpoint}api/v1/remote_write"

        # -- alerting ----------------------------------------------------------------
        self.topic = AlertTopic(
            self, "alerts", name_prefix=prefix, notifications=config.notifications,
            workspace_arn=self.workspace_arn, provider=provider,
        )
        self.rule_groups = aws("prometheus_rule_group_namespace").PrometheusRuleGroupNamespace(
            self, "rules", name=GROUP_NAME, workspace_id=self.workspace_id,
            data=rules_yaml(config.thresholds, config.expected_nodes), provider=provider,
        )
        self.alert_manager = aws("prometheus_alert_manager_definition").PrometheusAlertManagerDefinition(
            self, "alert-manager", workspace_id=self.workspace_id,
            definition=alert_manager_definition(topic_arn=self.topic.arn, region=region),
            provider=provider, depends_on=[self.topic.policy],
        )

        # -- the nodes' side ---------------------------------------------------------
        association = aws("ssm_association")
        self.url_delivery = association.SsmAssociation(
            self, "remote-write-url", name="AWS-RunShellScript", association_name=f"{prefix}remote-write-url",
            # This monitoring's nodes only (agent_config() tags them), never another app's.
            targets=[association.SsmAssociationTargets(key=f"tag:{config.node_tag_key}", values=[config.name])],
            parameters={"commands": url_delivery_script(self.remote_write_url, AmpRemoteWrite().url_file)},
            schedule_expression=URL_DELIVERY_SCHEDULE, max_concurrency="50%", max_errors="100%",
            provider=provider,
        )
        self.logs_key = LogsKey(self, "logs-key", description=f"Node logs of monitoring {config.name}", provider=provider)
        self.log_group = aws("cloudwatch_log_group").CloudwatchLogGroup(
            self, "journal", name=config.log_group_name, retention_in_days=config.log_retention_days,
            kms_key_id=self.logs_key.key.arn, tags=tags, provider=provider,
        )

        # -- AWS-side alarms, budget, canary, dashboards -------------------------------
        self.us_east_1_topic = None
        if config.health_checks:
            self.us_east_1_topic = AlertTopic(
                self, "alerts-us-east-1", name_prefix=prefix, notifications=config.notifications,
                region=ROUTE53_REGION, provider=provider,
            )
        self.alarms = AwsAlarms(
            self, "alarms", config=config, name_prefix=prefix, topic_arn=self.topic.arn,
            us_east_1_topic_arn=self.us_east_1_topic.arn if self.us_east_1_topic else None, provider=provider,
        )
        self._provider = provider
        self.budget = None
        if config.budget is not None:
            self.add_budget(config.budget)
        self.canary = None
        if config.canary is not None:
            self.canary = SyntheticCheck(
                self, "canary", config=config.canary, name=canary_name(config.name), name_prefix=prefix,
                topic_arn=self.topic.arn, provider=provider,
            )
        self.dashboard = aws("cloudwatch_dashboard").CloudwatchDashboard(
            self, "dashboard", dashboard_name=f"{prefix}aws".rstrip("-"), provider=provider,
            dashboard_body=dashboard_body(
                region=region, load_balancers=config.load_balancers, auto_scaling_groups=config.auto_scaling_groups,
                health_checks=config.health_checks, canary_name=self.canary.name if self.canary else None,
            ),
        )
        self.grafana = self.grafana_role = None
        if config.grafana_workspace:
            self._grafana(prefix, tags, provider)
        self._outputs()

    # ---- hooks for nodes -----------------------------------------------------------

    def agent_config(self, **overrides) -> AgentConfig:
        """The agents' configuration for nodes in this region: metrics to this workspace
        (URL delivered at boot), the journal to this log group, and the instance tag
        (:meth:`node_tags`) this monitoring's URL delivery targets. ``overrides``
        replace other :class:`AgentConfig` fields (e.g. ``scrape_interval_seconds``)."""
        return AgentConfig(**{
            "metrics": AmpRemoteWrite(),
            "logs": CloudWatchLogs(log_group_name=self.config.log_group_name),
            "instance_tags": self.node_tags(),
            **overrides,
        })

    def node_tags(self) -> dict[str, str]:
        """The tag that makes an instance one of this monitoring's nodes:
        ``{node_tag_key: name}``. The SSM association that writes the remote_write URL
        targets exactly this key and value."""
        return {self.config.node_tag_key: self.config.name}

    def node_statements(self) -> list[dict]:
        """IAM statements for the nodes' instance role: remote_write on this workspace,
        log streams of this log group."""
        return agent_statements(workspace_arn=self.workspace_arn, log_group_arn=self.log_group.arn)

    # ---- parts -----------------------------------------------------------------------

    def add_budget(self, budget: BudgetConfig):
        """Create the monthly cost budget (once), notifying this monitoring's topic and
        e-mails; for a limit known only after the stacks exist (``deploy_chain`` derives
        it from the app's cost estimate). Returns the ``BudgetsBudget``."""
        if not isinstance(budget, BudgetConfig):
            raise ConfigError.of("budget", "must be a constructs_substrate.observability.BudgetConfig", "Monitoring")
        if self.budget is not None:
            raise ConfigError.of("budget", "this Monitoring already has a budget (one per account is enough)", "Monitoring")
        self.budget = self._budget(budget, name_prefix(self), self._provider)
        return self.budget

    def _budget(self, budget: BudgetConfig, prefix: str, provider):
        module = aws("budgets_budget")
        emails = list(self.config.notifications.emails)
        subscribers = {"subscriber_sns_topic_arns": [self.topic.arn], **({"subscriber_email_addresses": emails} if emails else {})}
        notifications = [
            module.BudgetsBudgetNotification(
                comparison_operator="GREATER_THAN", threshold=percent, threshold_type="PERCENTAGE",
                notification_type="ACTUAL", **subscribers,
            )
            for percent in budget.alert_percents
        ]
        notifications.append(module.BudgetsBudgetNotification(
            comparison_operator="GREATER_THAN", threshold=100, threshold_type="PERCENTAGE",
            notification_type="FORECASTED", **subscribers,
        ))
        filters = []
        if budget.cost_allocation_tag is not None:
            key, value = budget.cost_allocation_tag
            filters.append(module.BudgetsBudgetCostFilter(name="TagKeyValue", values=[f"user:{key}${value}"]))
        return module.BudgetsBudget(
            self, "budget", name=f"{prefix}monthly", budget_type="COST", time_unit="MONTHLY",
            limit_amount=f"{budget.limit_usd:.2f}", limit_unit="USD", cost_filter=filters or None,
            notification=notifications, provider=provider, depends_on=[self.topic.policy],
        )

    def _grafana(self, prefix: str, tags: dict, provider) -> None:
        self.grafana_role = aws("iam_role").IamRole(
            self, "grafana-role", name_prefix=f"{prefix}grafana-"[:38],
            description="Amazon Managed Grafana: query AMP and read CloudWatch",
            assume_role_policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "grafana.amazonaws.com"}, "Action": "sts:AssumeRole"}],
            }, sort_keys=True),
            provider=provider,
        )
        attachment = aws("iam_role_policy_attachment").IamRolePolicyAttachment
        for key, arn in (("grafana-amp", GRAFANA_QUERY_POLICY), ("grafana-cloudwatch", GRAFANA_CLOUDWATCH_POLICY)):
            attachment(self, key, role=self.grafana_role.name, policy_arn=arn, provider=provider)
        self.grafana = aws("grafana_workspace").GrafanaWorkspace(
            self, "grafana", name=f"{self.config.name}-grafana", account_access_type="CURRENT_ACCOUNT",
            authentication_providers=["AWS_SSO"], permission_type="CUSTOMER_MANAGED",
            data_sources=["PROMETHEUS", "CLOUDWATCH"], role_arn=self.grafana_role.arn, tags=tags,
            provider=provider,
        )

    def _outputs(self) -> None:
        outputs = {
            "workspace_id": self.workspace_id,
            "remote_write_url": self.remote_write_url,
            "alert_topic_arn": self.topic.arn,
            "log_group": self.log_group.name,
            "dashboard_name": self.dashboard.dashboard_name,
        }
        if self.canary is not None:
            outputs["canary_name"] = self.canary.canary.name
        if self.grafana is not None:
            outputs["grafana_url"] = self.grafana.endpoint
        for key, value in outputs.items():
            TerraformOutput(self, key, value=value, description=f"monitoring {self.config.name}: {key}")
