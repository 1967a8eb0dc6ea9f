"""Customer-managed KMS keys for encrypted logs, with rotation and a scoped key policy."""

from __future__ import annotations

from ._framework import Construct, aws
from .iam import policy_document


class LogsKey(Construct):
    """A KMS key CloudWatch Logs of this account and region may encrypt with.

    Attributes: ``key``. The account root administers it (the AWS default), so IAM
    policies in the account decide who else may use it.
    """

    def __init__(self, scope: Construct, id: str, *, description: str, provider=None) -> None:
        super().__init__(scope, id)
        identity = aws("data_aws_caller_identity").DataAwsCallerIdentity(self, "account", provider=provider)
        region = aws("data_aws_region").DataAwsRegion(self, "region", provider=provider)
        account, region_name = identity.account_id, region.region
        self.key = aws("kms_key").KmsKey(
            self,
            "key",
            description=description,
            enable_key_rotation=True,
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
                    "Sid": "CloudWatchLogsUse",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{region_name}.amazonaws.com"},
                    "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                    "Resource": "*",
                    "Condition": {
                        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region_name}:{account}:*"}
                    },
                },
            ]),
            provider=provider,
        )
