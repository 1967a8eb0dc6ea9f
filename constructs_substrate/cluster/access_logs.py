"""``AccessLogBucket``: the S3 bucket an Application Load Balancer writes access logs to."""

from __future__ import annotations

from .._framework import Construct, TerraformStack, aws, is_token
from ..iam import deny_insecure_transport, policy_document
from ..private_bucket import block_public_access, encrypt, keep_versions

LOG_DELIVERY_PRINCIPAL = "logdelivery.elasticloadbalancing.amazonaws.com"
"""ELB's log delivery service principal: what AWS documents for Regions opened in
August 2022 or later (e.g. eu-central-2, me-central-1, ap-southeast-4)."""

ELB_ACCOUNT_IDS: dict[str, str] = {
    "us-east-1": "127311923021", "us-east-2": "033677994240",
    "us-west-1": "027434742980", "us-west-2": "797873946194",
    "af-south-1": "098369216593", "ca-central-1": "985666609251",
    "eu-central-1": "054676820928", "eu-west-1": "156460612806",
    "eu-west-2": "652711504416", "eu-south-1": "635631232127",
    "eu-west-3": "009996457667", "eu-north-1": "897822967062",
    "ap-east-1": "754344448648", "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887", "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ap-southeast-3": "589379963580", "ap-south-1": "718504428378",
    "me-south-1": "076674570225", "sa-east-1": "507241528517",
}
"""The Elastic Load Balancing account of each commercial Region opened before August
2022: there ALB log delivery writes as ``arn:aws:iam::<account>:root``, and a bucket
policy granting only :data:`LOG_DELIVERY_PRINCIPAL` gets no logs (the ALB refuses the
bucket at creation: "Access Denied for bucket"). Sources: "Enable access logs for your
Application Load Balancer", step "Attach a policy to your S3 bucket"
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html),
and the AWS provider's ``aws_elb_service_account`` table
(hashicorp/terraform-provider-aws internal/service/elb/service_account_data_source.go),
which also lists ap-southeast-3 (Jakarta, December 2021)."""


def log_writers(region: str | None) -> list[dict]:
    """The ``Principal`` of each statement that lets ALB log delivery in ``region``
    write: the Region's ELB account where AWS documents one, and the service principal
    everywhere (the only writer in newer Regions; harmless in older ones). ``None`` (the
    Region is only known at deploy time): every ELB account of the table."""
    accounts = sorted(ELB_ACCOUNT_IDS.values()) if region is None else (
        [ELB_ACCOUNT_IDS[region]] if region in ELB_ACCOUNT_IDS else []
    )
    writers: list[dict] = [{"AWS": [f"arn:aws:iam::{a}:root" for a in accounts]}] if accounts else []
    if len(accounts) == 1:
        writers[0]["AWS"] = writers[0]["AWS"][0]
    return [*writers, {"Service": LOG_DELIVERY_PRINCIPAL}]


def synth_region(scope: Construct, provider=None) -> str | None:
    """The Region ``scope``'s resources are created in, when known at synth:
    ``provider``'s, or the stack's one default (unaliased) AWS provider's; else ``None``."""
    candidates = [provider] if provider is not None else [
        child for child in TerraformStack.of(scope).node.children
        if isinstance(child, aws("provider").AwsProvider) and child.alias is None
    ]
    regions = [getattr(p, "region", None) for p in candidates]
    if len(regions) != 1 or not isinstance(regions[0], str) or is_token(regions[0]):
        return None
    return regions[0]


class AccessLogBucket(Construct):
    """Private, versioned, encrypted bucket whose objects expire after
    ``retention_days``.

    - SSE-S3 (AES256) default encryption: the only server-side encryption ALB log
      delivery supports (not SSE-KMS);
    - public access block on all four settings, object ownership ``BucketOwnerEnforced``
      (ACLs off);
    - bucket policy: ALB log delivery of the bucket's Region (:func:`log_writers`: the
      Region's ELB account where AWS documents one, and the log delivery service
      principal) may put objects under ``<prefix>/AWSLogs/<this account>/`` only;
      every request without TLS is denied;
    - lifecycle: current versions expire after ``retention_days``, noncurrent ones a
      day later, incomplete multipart uploads after 7 days.

    Attributes: ``bucket``, ``public_access_block``, ``ownership``, ``encryption``,
    ``versioning``, ``lifecycle_rules``, ``policy``, ``prefix``, ``region``.
    """

    def __init__(
        self, scope: Construct, id: str, *, name_prefix: str, retention_days: int, prefix: str = "alb", provider=None
    ) -> None:
        super().__init__(scope, id)
        self.prefix = prefix
        self.region = synth_region(self, provider)
        identity = aws("data_aws_caller_identity").DataAwsCallerIdentity(self, "account", provider=provider)
        s3 = lambda name: aws(f"s3_bucket_{name}")  # noqa: E731
        self.bucket = aws("s3_bucket").S3Bucket(
            self, "bucket", bucket_prefix=f"{name_prefix}logs-"[:37], force_destroy=False, provider=provider
        )
        bucket = self.bucket.id
        self.public_access_block, self.ownership = block_public_access(self, bucket, provider)
        self.encryption = encrypt(self, bucket, provider, bucket_key=None)
        self.versioning = keep_versions(self, bucket, provider)
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
                *(
                    {
                        "Sid": f"ElbLogDelivery{'Account' if 'AWS' in writer else 'Service'}",
                        "Effect": "Allow",
                        "Principal": writer,
                        "Action": "s3:PutObject",
                        "Resource": f"{arn}/{prefix}/AWSLogs/{identity.account_id}/*",
                    }
                    for writer in log_writers(self.region)
                ),
                deny_insecure_transport(arn),
            ]),
            # Public access block first: a policy write racing it can be refused.
            depends_on=[self.public_access_block],
        )
