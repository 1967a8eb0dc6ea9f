"""``ClusterAlarms``: CloudWatch alarms of one RPC cluster, and their SNS topic."""

from __future__ import annotations

from .._framework import Construct, aws
from ..iam import policy_document
from .config import AlarmConfig

NAMESPACE = "AWS/ApplicationELB"
PERIOD = 60
"""Seconds per datapoint (ALB metrics are published every minute)."""
SUSTAINED = 5
"""Datapoints in a row before the error-rate and latency alarms fire: one slow minute
(a node restarting, a burst) is not an incident."""
FAIL_OPEN_MINUTES = 2
"""Minutes with no healthy target at all before ``no-ready-nodes`` fires."""
STUCK_UNREADY_MINUTES = 15
"""Minutes a target may stay out of rotation before ``unready-nodes`` fires: readiness
never replaces a node (health check type EC2), so one stuck unready needs a person."""
MIN_REQUESTS = 20
"""Requests per minute below which the error rate is not judged (2 errors in 10
requests at night is noise, not a 20% outage)."""


class ClusterAlarms(Construct):
    """Five alarms, each notifying ``topic_arn`` on ALARM and OK:

    - ``healthy-hosts``: the target group's ``HealthyHostCount`` (minimum over each
      minute) below ``min_healthy`` for 3 minutes, or no data (nothing registered);
    - ``no-ready-nodes``: ``HealthyHostCount`` (maximum over each minute) below 1 for
      ``FAIL_OPEN_MINUTES``, or no data: no node passes readiness, so the ALB fails
      open and routes to all of them (a chain-wide stall, or the whole region broken).
      Nothing is terminated for it (health check type EC2); a person must look;
    - ``unready-nodes``: ``UnHealthyHostCount`` (minimum over each minute) at least 1
      for ``STUCK_UNREADY_MINUTES``: a node out of rotation that is alive (or it would
      have been replaced) but not recovering;
    - ``error-rate``: (ALB 5xx + node 5xx) / requests above ``error_rate_percent`` for
      5 minutes, when there were at least ``MIN_REQUESTS`` requests a minute. ALB 5xx
      and requests are counted over the whole load balancer (ALB-generated errors
      have no target group), node 5xx over this cluster's target group;
    - ``response-time``: p95 ``TargetResponseTime`` above ``response_time_seconds`` for
      5 minutes (a WebSocket counts until its handshake is answered).

    Without ``config.topic_arn`` a topic is created, encrypted with its own KMS key
    that CloudWatch may use (it cannot use the AWS managed ``alias/aws/sns`` key, so
    alarms on a topic encrypted with it are silently never delivered).

    Attributes: ``topic_arn``, ``topic`` / ``key`` (or ``None``), ``healthy_hosts``,
    ``no_ready_nodes``, ``unready_nodes``, ``error_rate``, ``response_time``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: AlarmConfig,
        name_prefix: str,
        min_healthy: int,
        load_balancer_arn_suffix: str,
        target_group_arn_suffix: str,
        provider=None,
    ) -> None:
        super().__init__(scope, id)
        self.topic = self.key = None
        if config.topic_arn is None:
            self._create_topic(name_prefix, provider)
            self.topic_arn = self.topic.arn
        else:
            self.topic_arn = config.topic_arn
        alarm = aws("cloudwatch_metric_alarm")
        lb = {"LoadBalancer": load_balancer_arn_suffix}
        tg = {**lb, "TargetGroup": target_group_arn_suffix}
        notify = dict(alarm_actions=[self.topic_arn], ok_actions=[self.topic_arn], provider=provider)

        self.healthy_hosts = alarm.CloudwatchMetricAlarm(
            self, "healthy-hosts", alarm_name=f"{name_prefix}healthy-hosts",
            alarm_description=f"Fewer than {min_healthy} nodes pass the readiness check: the endpoint is degraded or down",
            namespace=NAMESPACE, metric_name="HealthyHostCount", dimensions=tg, statistic="Minimum",
            period=PERIOD, evaluation_periods=3, datapoints_to_alarm=3, threshold=min_healthy,
            comparison_operator="LessThanThreshold", treat_missing_data="breaching", **notify,
        )
        self.no_ready_nodes = alarm.CloudwatchMetricAlarm(
            self, "no-ready-nodes", alarm_name=f"{name_prefix}no-ready-nodes",
            alarm_description=(
                "No node passes the readiness check: the load balancer fails open and routes to all "
                "(chain-wide stall?). Nothing is replaced for this; check the chain and the nodes"
            ),
            namespace=NAMESPACE, metric_name="HealthyHostCount", dimensions=tg, statistic="Maximum",
            period=PERIOD, evaluation_periods=FAIL_OPEN_MINUTES, datapoints_to_alarm=FAIL_OPEN_MINUTES,
            threshold=1, comparison_operator="LessThanThreshold", treat_missing_data="breaching", **notify,
        )
        self.unready_nodes = alarm.CloudwatchMetricAlarm(
            self, "unready-nodes", alarm_name=f"{name_prefix}unready-nodes",
            alarm_description=(
                f"A node has failed the readiness check for {STUCK_UNREADY_MINUTES} minutes; it is alive, so it "
                "is not replaced automatically"
            ),
            namespace=NAMESPACE, metric_name="UnHealthyHostCount", dimensions=tg, statistic="Minimum",
            period=PERIOD, evaluation_periods=STUCK_UNREADY_MINUTES, datapoints_to_alarm=STUCK_UNREADY_MINUTES,
            threshold=1, comparison_operator="GreaterThanOrEqualToThreshold", treat_missing_data="notBreaching",
            **notify,
        )

        def metric(query_id: str, name: str, dimensions: dict[str, str]):
            return alarm.CloudwatchMetricAlarmMetricQuery(
                id=query_id, return_data=False,
                metric=alarm.CloudwatchMetricAlarmMetricQueryMetric(
                    namespace=NAMESPACE, metric_name=name, dimensions=dimensions, stat="Sum", period=PERIOD
                ),
            )

        self.error_rate = alarm.CloudwatchMetricAlarm(
            self, "error-rate", alarm_name=f"{name_prefix}error-rate",
            alarm_description=f"More than {config.error_rate_percent:g}% of requests answered with 5xx",
            metric_query=[
                metric("elb5xx", "HTTPCode_ELB_5XX_Count", lb),
                metric("node5xx", "HTTPCode_Target_5XX_Count", tg),
                metric("requests", "RequestCount", lb),
                alarm.CloudwatchMetricAlarmMetricQuery(
                    id="rate", label="5xx percent", return_data=True,
                    expression=(
                        f"IF(FILL(requests, 0) >= {MIN_REQUESTS}, "
                        "100 * (FILL(elb5xx, 0) + FILL(node5xx, 0)) / FILL(requests, 0), 0)"
                    ),
                ),
            ],
            evaluation_periods=SUSTAINED, datapoints_to_alarm=SUSTAINED, threshold=config.error_rate_percent,
            comparison_operator="GreaterThanThreshold", treat_missing_data="notBreaching", **notify,
        )

        self.response_time = alarm.CloudwatchMetricAlarm(
            self, "response-time", alarm_name=f"{name_prefix}response-time",
            alarm_description=f"p95 response time of the nodes above {config.response_time_seconds:g} s",
            namespace=NAMESPACE, metric_name="TargetResponseTime", dimensions=tg, extended_statistic="p95",
            period=PERIOD, evaluation_periods=SUSTAINED, datapoints_to_alarm=SUSTAINED,
            threshold=config.response_time_seconds, comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching", **notify,
        )

    def _create_topic(self, name_prefix: str, provider) -> None:
        account = aws("data_aws_caller_identity").DataAwsCallerIdentity(self, "account", provider=provider).account_id
        self.key = aws("kms_key").KmsKey(
            self, "key", description="RPC cluster alarm notifications (SNS)", enable_key_rotation=True,
            deletion_window_in_days=30, provider=provider,
            policy=policy_document([
                {
                    "Sid": "AccountAdministers",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "CloudWatchAlarmsPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                },
            ]),
        )
        self.topic = aws("sns_topic").SnsTopic(
            self, "topic", name_prefix=f"{name_prefix}alarms-", kms_master_key_id=self.key.arn, provider=provider
        )
