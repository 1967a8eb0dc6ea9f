"""``RateLimitWebAcl``: a regional WAF web ACL that blocks clients over a request rate."""

from __future__ import annotations

import re

from .._framework import Construct, aws
from ..kms import LogsKey

EVALUATION_WINDOW_SECONDS = 300
BLOCK_LOG_RETENTION_DAYS = 365
"""Blocked requests are few (only BLOCK decisions are logged): keep a year of them."""


class RateLimitWebAcl(Construct):
    """Allows everything except client IPs that sent more than ``limit_per_5min``
    requests in the last 5 minutes (blocked with 403 until they slow down), and
    associates the ACL with ``resource_arn`` (an ALB).

    Only HTTP requests and WebSocket handshakes are counted: WAF does not see the
    frames inside an open WebSocket, which the node's ``--rpc-rate-limit`` covers.

    Blocked requests (only those: allowed ones are the ALB access logs' job) are
    logged to an encrypted CloudWatch log group ``aws-waf-logs-<name>`` kept a year, to
    see who was limited and tune the limit.

    Attributes: ``web_acl``, ``association``, ``log_group``, ``logging``.
    """

    def __init__(
        self, scope: Construct, id: str, *, name: str, limit_per_5min: int, resource_arn: str, provider=None
    ) -> None:
        super().__init__(scope, id)
        waf = aws("wafv2_web_acl")
        metric = re.sub(r"[^A-Za-z0-9_-]", "-", name)[:100]
        visibility = dict(cloudwatch_metrics_enabled=True, sampled_requests_enabled=True)
        self.web_acl = waf.Wafv2WebAcl(
            self,
            "web-acl",
            name=name,
            scope="REGIONAL",
            description="Per-IP request rate limit in front of the RPC endpoint",
            default_action=waf.Wafv2WebAclDefaultAction(allow=waf.Wafv2WebAclDefaultActionAllow()),
            rule=[
                waf.Wafv2WebAclRule(
                    name="rate-limit-per-ip",
                    priority=0,
                    action=waf.Wafv2WebAclRuleAction(block=waf.Wafv2WebAclRuleActionBlock()),
                    statement={
                        "rate_based_statement": {
                            "limit": limit_per_5min,
                            "aggregate_key_type": "IP",
                            "evaluation_window_sec": EVALUATION_WINDOW_SECONDS,
                        }
                    },
                    visibility_config=waf.Wafv2WebAclRuleVisibilityConfig(
                        metric_name=f"{metric}-rate-limit", **visibility
                    ),
                )
            ],
            visibility_config=waf.Wafv2WebAclVisibilityConfig(metric_name=metric, **visibility),
            provider=provider,
        )
        self.association = aws("wafv2_web_acl_association").Wafv2WebAclAssociation(
            self, "association", resource_arn=resource_arn, web_acl_arn=self.web_acl.arn, provider=provider
        )
        key = LogsKey(self, "log-key", description=f"WAF block log of {name}", provider=provider)
        self.log_group = aws("cloudwatch_log_group").CloudwatchLogGroup(
            self, "log-group", name=f"aws-waf-logs-{name}", retention_in_days=BLOCK_LOG_RETENTION_DAYS,
            kms_key_id=key.key.arn, provider=provider,
        )
        logs = aws("wafv2_web_acl_logging_configuration")
        self.logging = logs.Wafv2WebAclLoggingConfiguration(
            self, "logging", resource_arn=self.web_acl.arn, log_destination_configs=[self.log_group.arn],
            logging_filter=logs.Wafv2WebAclLoggingConfigurationLoggingFilter(
                default_behavior="DROP",
                filter=[logs.Wafv2WebAclLoggingConfigurationLoggingFilterFilter(
                    behavior="KEEP", requirement="MEETS_ANY",
                    condition=[logs.Wafv2WebAclLoggingConfigurationLoggingFilterFilterCondition(
                        action_condition=logs.Wafv2WebAclLoggingConfigurationLoggingFilterFilterConditionActionCondition(
                            action="BLOCK"
                        )
                    )],
                )],
            ),
            provider=provider,
        )
