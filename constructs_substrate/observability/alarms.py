"""``AwsAlarms``: the CloudWatch alarms of the AWS side, all notifying the alert topic.

- per load balancer target group: ``UnHealthyHostCount`` above 0 for 3 minutes, and
  5xx (ALB-generated plus the nodes') above ``error_percent`` of requests for 5
  minutes, judged only above 20 requests a minute;
- per Auto Scaling group: in-service instances below the desired capacity
  (``GroupDesiredCapacity - GroupInServiceInstances > 0``, metric math) for
  ``capacity_shortfall_minutes``. The group must collect its group metrics
  (``enabled_metrics`` with at least these two, 1-minute granularity), or the alarm has
  no data;
- per Route53 health check: ``HealthCheckStatus`` below 1 for 2 minutes. Route53
  publishes these metrics only in us-east-1, so these alarms and the topic they notify
  are created there (the AWS provider's per-resource ``region``).
"""

from __future__ import annotations

from .._framework import Construct, aws
from .cloudwatch_dashboard import ROUTE53_REGION
from .config import MonitoringConfig

ELB = "AWS/ApplicationELB"
MIN_REQUESTS = 20


class AwsAlarms(Construct):
    """Attributes: ``unhealthy_hosts`` / ``errors`` (dicts by load balancer name),
    ``capacity`` (by group name), ``health_checks`` (by name)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: MonitoringConfig,
        name_prefix: str,
        topic_arn: str,
        us_east_1_topic_arn: str | None = None,
        provider=None,
    ) -> None:
        super().__init__(scope, id)
        alarm = aws("cloudwatch_metric_alarm")
        notify = dict(alarm_actions=[topic_arn], ok_actions=[topic_arn], provider=provider)
        self.unhealthy_hosts, self.errors, self.capacity, self.health_checks = {}, {}, {}, {}

        def query(query_id: str, namespace: str, name: str, dimensions: dict, stat: str):
            return alarm.CloudwatchMetricAlarmMetricQuery(
                id=query_id, return_data=False,
                metric=alarm.CloudwatchMetricAlarmMetricQueryMetric(
                    namespace=namespace, metric_name=name, dimensions=dimensions, stat=stat, period=60
                ),
            )

        for lb in config.load_balancers:
            dims = {"LoadBalancer": lb.load_balancer_arn_suffix}
            tg = {**dims, "TargetGroup": lb.target_group_arn_suffix}
            self.unhealthy_hosts[lb.name] = alarm.CloudwatchMetricAlarm(
                self, f"{lb.name}-unhealthy-hosts", alarm_name=f"{name_prefix}{lb.name}-unhealthy-hosts",
                alarm_description=f"{lb.name}: a target fails the readiness health check (3 minutes)",
                namespace=ELB, metric_name="UnHealthyHostCount", dimensions=tg, statistic="Maximum",
                period=60, evaluation_periods=3, datapoints_to_alarm=3, threshold=0,
                comparison_operator="GreaterThanThreshold", treat_missing_data="notBreaching", **notify,
            )
            self.errors[lb.name] = alarm.CloudwatchMetricAlarm(
                self, f"{lb.name}-5xx", alarm_name=f"{name_prefix}{lb.name}-5xx",
                alarm_description=f"{lb.name}: more than {lb.error_percent:g}% of requests answered 5xx (5 minutes)",
                metric_query=[
                    query("elb", ELB, "HTTPCode_ELB_5XX_Count", dims, "Sum"),
                    query("target", ELB, "HTTPCode_Target_5XX_Count", tg, "Sum"),
                    query("requests", ELB, "RequestCount", dims, "Sum"),
                    alarm.CloudwatchMetricAlarmMetricQuery(
                        id="percent", label="5xx percent", return_data=True,
                        expression=(
                            f"IF(FILL(requests, 0) >= {MIN_REQUESTS}, "
                            "100 * (FILL(elb, 0) + FILL(target, 0)) / FILL(requests, 0), 0)"
                        ),
                    ),
                ],
                evaluation_periods=5, datapoints_to_alarm=5, threshold=lb.error_percent,
                comparison_operator="GreaterThanThreshold", treat_missing_data="notBreaching", **notify,
            )
        minutes = config.capacity_shortfall_minutes
        for index, group in enumerate(config.auto_scaling_groups):
            dims = {"AutoScalingGroupName": group}
            self.capacity[group] = alarm.CloudwatchMetricAlarm(
                self, f"asg-{index}-capacity", alarm_name=f"{name_prefix}asg-{index}-capacity",
                alarm_description=(
                    f"Auto Scaling group {group}: fewer instances in service than desired for {minutes} minutes "
                    "(instances fail to launch or never become ready)"
                ),
                metric_query=[
                    query("desired", "AWS/AutoScaling", "GroupDesiredCapacity", dims, "Average"),
                    query("inservice", "AWS/AutoScaling", "GroupInServiceInstances", dims, "Average"),
                    alarm.CloudwatchMetricAlarmMetricQuery(
                        id="shortfall", label="desired - in service", return_data=True,
                        expression="desired - inservice",
                    ),
                ],
                evaluation_periods=minutes, datapoints_to_alarm=minutes, threshold=0,
                comparison_operator="GreaterThanThreshold", treat_missing_data="missing", **notify,
            )
        if config.health_checks:
            if us_east_1_topic_arn is None:
                raise ValueError("Route53 health check alarms need a topic in us-east-1")
            east = dict(alarm_actions=[us_east_1_topic_arn], ok_actions=[us_east_1_topic_arn],
                        provider=provider, region=ROUTE53_REGION)
            for hc in config.health_checks:
                self.health_checks[hc.name] = alarm.CloudwatchMetricAlarm(
                    self, f"health-check-{hc.name}", alarm_name=f"{name_prefix}health-check-{hc.name}",
                    alarm_description=f"Route53 health check {hc.name} fails (2 minutes): DNS fails this region over",
                    namespace="AWS/Route53", metric_name="HealthCheckStatus",
                    dimensions={"HealthCheckId": hc.health_check_id}, statistic="Minimum",
                    period=60, evaluation_periods=2, datapoints_to_alarm=2, threshold=1,
                    comparison_operator="LessThanThreshold", treat_missing_data="breaching", **east,
                )
