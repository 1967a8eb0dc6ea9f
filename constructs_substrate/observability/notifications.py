"""``AlertTopic``: the SNS topic every alert goes to, and who is subscribed.

The topic is encrypted with its own KMS key, because the services that publish to it
cannot use the AWS managed ``alias/aws/sns`` key (messages from AMP, CloudWatch alarms
and Budgets to a topic encrypted with it are silently dropped). The key policy and
the topic policy each name exactly the publishing services, for this account only:
``aps.amazonaws.com`` (AMP's alert manager, also limited to the workspace),
``cloudwatch.amazonaws.com`` and ``budgets.amazonaws.com``.
"""

from __future__ import annotations

from .._framework import Construct, aws
from ..iam import policy_document
from ..errors import ConfigError
from .config import Notifications

PUBLISHERS = ("aps.amazonaws.com", "cloudwatch.amazonaws.com", "budgets.amazonaws.com")


NO_RECEIVER = (
    "no alert receiver: every alarm and alert would reach an SNS topic nobody is subscribed to. Give "
    "Notifications(emails=('oncall@example.org',)) or pagerduty_url=..., or, to go without one on purpose, "
    "Notifications(no_receiver_reason='why')"
)


def require_receiver(notifications: Notifications) -> None:
    """``ConfigError`` naming ``notifications`` when alerts would reach nobody and the
    user did not say why (``Notifications.no_receiver_reason``)."""
    if not isinstance(notifications, Notifications):
        raise ConfigError.of("notifications", "must be a constructs_substrate.observability.Notifications")
    if not notifications.has_receiver and notifications.no_receiver_reason is None:
        raise ConfigError.of("notifications", NO_RECEIVER)


class AlertTopic(Construct):
    """An encrypted SNS topic with e-mail and PagerDuty (HTTPS) subscriptions.

    :param workspace_arn: the AMP workspace allowed to publish (``aws:SourceArn``), or
        ``None`` when AMP does not publish here.
    :param region: create everything in this region instead of the provider's (AWS
        provider 6 per-resource ``region``), e.g. ``us-east-1`` for Route53 alarms.

    Refuses ``notifications`` without a receiver unless they give
    ``no_receiver_reason`` (:func:`require_receiver`).

    Attributes: ``key``, ``topic``, ``policy``, ``subscriptions`` (list), ``arn``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name_prefix: str,
        notifications: Notifications,
        workspace_arn: str | None = None,
        region: str | None = None,
        provider=None,
    ) -> None:
        require_receiver(notifications)
        super().__init__(scope, id)
        common = {"provider": provider, **({"region": region} if region else {})}
        account = aws("data_aws_caller_identity").DataAwsCallerIdentity(self, "account", provider=provider).account_id
        same_account = {"StringEquals": {"aws:SourceAccount": account}}
        self.key = aws("kms_key").KmsKey(
            self, "key", description="Alert notifications (SNS)", enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=policy_document([
                {
                    "Sid": "AccountAdministers",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "AlertPublishersEncrypt",
                    "Effect": "Allow",
                    "Principal": {"Service": list(PUBLISHERS)},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                    "Condition": same_account,
                },
            ]),
            **common,
        )
        self.topic = aws("sns_topic").SnsTopic(
            self, "topic", name_prefix=f"{name_prefix}alerts-", kms_master_key_id=self.key.arn, **common
        )
        self.arn = self.topic.arn
        statements = [
            {
                "Sid": "AccountManages",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": [
                    "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:AddPermission",
                    "sns:RemovePermission", "sns:DeleteTopic", "sns:Subscribe",
                    "sns:ListSubscriptionsByTopic", "sns:Publish",
                ],
                "Resource": self.topic.arn,
            },
            {
                "Sid": "AlarmsAndBudgetsPublish",
                "Effect": "Allow",
                "Principal": {"Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]},
                "Action": "sns:Publish",
                "Resource": self.topic.arn,
                "Condition": same_account,
            },
        ]
        if workspace_arn is not None:
            statements.append({
                "Sid": "PrometheusAlertManagerPublishes",
                "Effect": "Allow",
                "Principal": {"Service": "aps.amazonaws.com"},
                "Action": ["sns:Publish", "sns:GetTopicAttributes"],
                "Resource": self.topic.arn,
                "Condition": {
                    "ArnEquals": {"aws:SourceArn": workspace_arn},
                    "StringEquals": {"aws:SourceAccount": account},
                },
            })
        statements.append({
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": self.topic.arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        })
        self.policy = aws("sns_topic_policy").SnsTopicPolicy(
            self, "policy", arn=self.topic.arn, policy=policy_document(statements), **common
        )
        subscription = aws("sns_topic_subscription").SnsTopicSubscription
        self.subscriptions = [
            subscription(self, f"email-{index}", topic_arn=self.topic.arn, protocol="email", endpoint=email, **common)
            for index, email in enumerate(notifications.emails)
        ]
        if notifications.pagerduty_url is not None:
            self.subscriptions.append(subscription(
                self, "pagerduty", topic_arn=self.topic.arn, protocol="https",
                endpoint=notifications.pagerduty_url, endpoint_auto_confirms=True, **common,
            ))
