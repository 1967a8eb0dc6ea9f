"""``AccessLogBucket``: the S3 bucket an Application Load Balancer writes access logs to."""

from __future__ import annotations

from .._framework import Construct, aws
from ..iam import deny_insecure_transport, policy_document

LOG_DELIVERY_PRINCIPAL = "logdelivery.elasticloadbalancing.amazonaws.com"
"""ELB's log delivery service principal (region-agnostic; replaces the per-region ELB
account ids of the older bucket policies)."""


class AccessLogBucket(Construct):
    """Private, versioned, encrypted bucket whose objects expire after
    ``retention_days``.

    - SSE-S3 (AES256) default encryption: the only server-side encryption ALB log
      delivery supports (not SSE-KMS);
    - public access block on all four settings, object ownership ``BucketOwnerEnforced``
      (ACLs off);
    - bucket policy: the ELB log delivery principal may put objects under
      ``<prefix>/AWSLogs/<this account>/`` only; every request without TLS is denied;
    - lifecycle: current versions expire after ``retention_days``, noncurrent ones a
      day later, incomplete multipart uploads after 7 days.

    Attributes: ``bucket``, ``public_access_block``, ``ownership``, ``encryption``,
    ``versioning``, ``lifecycle_rules``, ``policy``, ``prefix``.
    """

    def __init__(
        self, scope: Construct, id: str, *, name_prefix: str, retention_days: int, prefix: str = "alb", provider=None
    ) -> None:
        super().__init__(scope, id)
        self.prefix = prefix
        identity = aws("data_aws_caller_identity").DataAwsCallerIdentity(self, "account", provider=provider)
        s3 = lambda name: aws(f"s3_bucket_{name}")  # noqa: E731
        self.bucket = aws("s3_bucket").S3Bucket(
            self, "bucket", bucket_prefix=f"{name_prefix}logs-"[:37], force_destroy=False, provider=provider
        )
        bucket = self.bucket.id
        self.public_access_block = s3("public_access_block").S3BucketPublicAccessBlock(
            self, "public-access-block", bucket=bucket, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, provider=provider,
        )
        self.ownership = s3("ownership_controls").S3BucketOwnershipControls(
            self, "ownership", bucket=bucket, rule={"object_ownership": "BucketOwnerEnforced"}, provider=provider
        )
        module = s3("server_side_encryption_configuration")
        self.encryption = module.S3BucketServerSideEncryptionConfigurationA(
            self, "encryption", bucket=bucket, provider=provider,
            rule=[module.S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=(
                    module.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="AES256"
                    )
                ),
            )],
        )
        self.versioning = s3("versioning").S3BucketVersioningA(
            self, "versioning", bucket=bucket, versioning_configuration={"status": "Enabled"}, provider=provider
        )
        module = s3("lifecycle_configuration")
        self.lifecycle_rules = module.S3BucketLifecycleConfiguration(
            self, "lifecycle", bucket=bucket, provider=provider,
            rule=[module.S3BucketLifecycleConfigurationRule(
                id="expire-access-logs",
                status="Enabled",
                filter=[module.S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                expiration=[module.S3BucketLifecycleConfigurationRuleExpiration(days=retention_days)],
                noncurrent_version_expiration=[
                    module.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=1)
                ],
                abort_incomplete_multipart_upload=[
                    module.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=7)
                ],
            )],
            depends_on=[self.versioning],
        )
        arn = self.bucket.arn
        self.policy = s3("policy").S3BucketPolicy(
            self, "policy", bucket=bucket, provider=provider,
            policy=policy_document([
                {
                    "Sid": "ElbLogDelivery",
                    "Effect": "Allow",
                    "Principal": {"Service": LOG_DELIVERY_PRINCIPAL},
                    "Action": "s3:PutObject",
                    "Resource": f"{arn}/{prefix}/AWSLogs/{identity.account_id}/*",
                },
                deny_insecure_transport(arn),
            ]),
            # Public access block first: a policy write racing it can be refused.
            depends_on=[self.public_access_block],
        )
