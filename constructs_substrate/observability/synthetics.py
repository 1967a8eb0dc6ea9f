"""``SyntheticCheck``: a CloudWatch Synthetics canary running the WebSocket check of
:mod:`.canary.check` against the public endpoints, and its alarm.

The code is the deterministic zip of :mod:`.canary.package`, uploaded by Terraform as
an S3 object whose key holds the zip's SHA-256: nothing is written outside the
synthesized JSON, the same code always has the same key, and a code change is a new
key (which updates the canary). The bucket also receives the run artifacts under
``runs/``: private (public access block, ACLs off), encrypted with its own KMS key
(bucket default and Synthetics' artifact encryption), versioned with old versions
removed after a day, TLS-only, run artifacts expiring after
``artifact_retention_days``. The execution role may write only under ``runs/`` (with
the key), its own Lambda log group, and metrics in the ``CloudWatchSynthetics``
namespace.
"""

from __future__ import annotations

import base64
import json

from .._framework import Construct, aws
from ..iam import deny_insecure_transport, policy_document
from ..private_bucket import block_public_access, encrypt, keep_versions
from ..naming import CANARY_NAME_MAX, fit
from .canary.package import HANDLER, build_zip, zip_digest
from .config import CanaryConfig
from .iam import canary_statements

ARTIFACT_PREFIX = "runs/"
CODE_PREFIX = "code/"
def canary_name(monitoring_name: str) -> str:
    """``<monitoring name>-ws``, fitted to Synthetics' 21 characters (see
    :func:`~constructs_substrate.naming.fit`)."""
    return fit(f"{monitoring_name}-ws", CANARY_NAME_MAX)


class SyntheticCheck(Construct):
    """Attributes: ``bucket`` (+ ``public_access_block``, ``ownership``, ``key``,
    ``encryption``, ``versioning``, ``lifecycle_rules``, ``bucket_policy``), ``code``
    (S3 object), ``role``,
    ``role_policy``, ``canary``, ``alarm``, ``name``."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: CanaryConfig,
        name: str,
        name_prefix: str,
        topic_arn: str,
        provider=None,
    ) -> None:
        super().__init__(scope, id)
        self.name = name
        identity = aws("data_aws_caller_identity").DataAwsCallerIdentity(self, "account", provider=provider)
        region = aws("data_aws_region").DataAwsRegion(self, "region", provider=provider).region
        s3 = lambda kind: aws(f"s3_bucket_{kind}")  # noqa: E731

        self.bucket = aws("s3_bucket").S3Bucket(
            self, "bucket", bucket_prefix=f"{name_prefix}canary-"[:37], force_destroy=True, provider=provider
        )
        bucket = self.bucket.id
        self.public_access_block, self.ownership = block_public_access(self, bucket, provider)
        self.key = aws("kms_key").KmsKey(
            self, "key", description=f"Synthetics canary {name}: code and run artifacts", enable_key_rotation=True,
            deletion_window_in_days=30, provider=provider,
            policy=policy_document([{
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{identity.account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }]),
        )
        self.encryption = encrypt(self, bucket, provider, kms_key_arn=self.key.arn)
        self.versioning = keep_versions(self, bucket, provider)
        lifecycle = s3("lifecycle_configuration")
        self.lifecycle_rules = lifecycle.S3BucketLifecycleConfiguration(
            self, "lifecycle", bucket=bucket, provider=provider,
            rule=[
                lifecycle.S3BucketLifecycleConfigurationRule(
                    id="expire-run-artifacts",
                    status="Enabled",
                    filter=[lifecycle.S3BucketLifecycleConfigurationRuleFilter(prefix=ARTIFACT_PREFIX)],
                    expiration=[lifecycle.S3BucketLifecycleConfigurationRuleExpiration(days=config.artifact_retention_days)],
                ),
                lifecycle.S3BucketLifecycleConfigurationRule(
                    id="clean-up",
                    status="Enabled",
                    filter=[lifecycle.S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    noncurrent_version_expiration=[
                        lifecycle.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=1)
                    ],
                    abort_incomplete_multipart_upload=[
                        lifecycle.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=1)
                    ],
                ),
            ],
            depends_on=[self.versioning],
        )
        arn = self.bucket.arn
        self.bucket_policy = s3("policy").S3BucketPolicy(
            self, "bucket-policy", bucket=bucket, provider=provider,
            policy=policy_document([deny_insecure_transport(arn)]),
            depends_on=[self.public_access_block],
        )

        package = build_zip()
        self.code = aws("s3_object").S3Object(
            self, "code", bucket=bucket, key=f"{CODE_PREFIX}{zip_digest(package)[:32]}.zip",
            content_base64=base64.b64encode(package).decode("ascii"), content_type="application/zip",
            provider=provider, depends_on=[self.encryption],
        )

        self.role = aws("iam_role").IamRole(
            self, "role", name_prefix=f"{name_prefix}canary-"[:38],
            description=f"Synthetics canary {name}: run artifacts, its logs, CloudWatchSynthetics metrics",
            assume_role_policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
            }, sort_keys=True),
            provider=provider,
        )
        log_groups = f"arn:aws:logs:{region}:{identity.account_id}:log-group:/aws/lambda/cwsyn-{name}"
        self.role_policy = aws("iam_role_policy").IamRolePolicy(
            self, "role-policy", name="canary", role=self.role.id, provider=provider,
            policy=policy_document(canary_statements(
                bucket_arn=arn, artifact_prefix=ARTIFACT_PREFIX, log_group_arn_prefix=log_groups,
                kms_key_arn=self.key.arn,
            )),
        )

        canary = aws("synthetics_canary")
        self.canary = canary.SyntheticsCanary(
            self, "canary", name=name, runtime_version=config.runtime_version, handler=HANDLER,
            execution_role_arn=self.role.arn, s3_bucket=bucket, s3_key=self.code.key,
            artifact_s3_location=f"s3://{bucket}/{ARTIFACT_PREFIX}",
            artifact_config=canary.SyntheticsCanaryArtifactConfig(
                s3_encryption=canary.SyntheticsCanaryArtifactConfigS3Encryption(
                    encryption_mode="SSE_KMS", kms_key_arn=self.key.arn
                ),
            ),
            schedule=canary.SyntheticsCanarySchedule(expression=f"rate({config.schedule_minutes} minute{'s' if config.schedule_minutes > 1 else ''})"),
            run_config=canary.SyntheticsCanaryRunConfig(
                timeout_in_seconds=config.run_timeout_seconds,
                memory_in_mb=960,
                environment_variables={
                    "SUBSTRATE_ENDPOINTS": ",".join(config.endpoints),
                    "NEW_HEAD_SECONDS": str(config.new_head_seconds),
                    "MAX_FINALITY_LAG": str(config.max_finality_lag),
                    "TIMEOUT_SECONDS": str(config.timeout_seconds),
                },
            ),
            start_canary=True,
            success_retention_period=config.artifact_retention_days,
            failure_retention_period=config.artifact_retention_days,
            provider=provider,
            depends_on=[self.role_policy, self.bucket_policy],
        )

        period = config.schedule_minutes * 60
        self.alarm = aws("cloudwatch_metric_alarm").CloudwatchMetricAlarm(
            self, "alarm", alarm_name=f"{name_prefix}canary-failed",
            alarm_description=(
                f"Synthetic WebSocket check {name} failed 2 of the last 3 runs (error, timeout, or no new block "
                f"within {config.new_head_seconds}s); no data means the canary stopped"
            ),
            namespace="CloudWatchSynthetics", metric_name="SuccessPercent", dimensions={"CanaryName": name},
            statistic="Average", period=period, evaluation_periods=3, datapoints_to_alarm=2, threshold=100,
            comparison_operator="LessThanThreshold", treat_missing_data="breaching",
            alarm_actions=[topic_arn], ok_actions=[topic_arn], provider=provider,
        )
