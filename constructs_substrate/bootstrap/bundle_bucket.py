"""``BootstrapBucket``: the private S3 bucket that holds the bootstrap bundles of every
node in a stack (one per stack and AWS provider), and the per-node object and read
grant (see docs/bootstrap.md, "The bootstrap bundle").

One bucket per stack, not per node: a stack with several ``SubstrateNode``s and
clusters gets one bucket (and one set of bucket settings), each node its own object
and a role that may read only that object. The bucket's name is
``<prefix><account id>-<region>``: the prefix is derived from the stack's path (and
the provider's, for a stack with aliased providers) and known at synth time, so the
user data, rendered in Python before any token resolves, can name it; the instance
completes it from its identity document.
"""

from __future__ import annotations

import hashlib
import re

from .._framework import Construct, TerraformStack, aws
from ..iam import deny_insecure_transport, policy_document
from ..private_bucket import block_public_access, encrypt, keep_versions
from .bundle import MAX_PREFIX, Bundle, BundleSource

BUCKET_ID = "bootstrap-bundles"
NONCURRENT_DAYS = 30
"""Replaced bundles (noncurrent versions) are kept this long, for an audit of what an
instance booted with, then expire."""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def _holder_id(provider) -> str:
    """The bucket construct's id in the stack: one per AWS provider."""
    return BUCKET_ID if provider is None else f"{BUCKET_ID}-{_digest(provider.node.path)}"


def bucket_prefix(scope: Construct, provider=None) -> str:
    """``<stack id>-<hash>-boot-``: the bucket name's synth-time part."""
    stack = TerraformStack.of(scope)
    path = f"{stack.node.path}/{_holder_id(provider)}"
    base = re.sub(r"[^a-z0-9-]+", "-", stack.node.id.lower()).strip("-") or "stack"
    suffix = f"-{_digest(path)}-boot-"
    return base[: MAX_PREFIX - len(suffix)].rstrip("-") + suffix


def bundle_source(scope: Construct, id: str, provider=None) -> BundleSource:
    """Where the construct ``id`` under ``scope`` keeps its bundle (it need not exist
    yet: the constructs render their bootstrap before creating anything)."""
    path = f"{scope.node.path}/{id}"
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", id).strip("-.") or "node"
    return BundleSource(bucket_prefix(scope, provider), f"nodes/{name[:64]}-{_digest(path)}/bootstrap.tar.gz")


class BootstrapBucket(Construct):
    """Private, versioned, encrypted bucket for bootstrap bundles.

    - SSE-S3 (AES256) default encryption with bucket keys (the objects are the
      library's own scripts, identical for everyone using it; no secrets);
    - public access block on all four settings, object ownership ``BucketOwnerEnforced``
      (ACLs off);
    - bucket policy: every request without TLS is denied;
    - versioning, noncurrent versions expire after :data:`NONCURRENT_DAYS`;
    - ``force_destroy``: its content is rebuilt from code, so destroying the stack
      must not stop at old versions.

    Use :meth:`of` (one per stack and provider). Attributes: ``bucket``,
    ``public_access_block``, ``ownership``, ``encryption``, ``versioning``,
    ``lifecycle_rules``, ``policy``, ``name``.
    """

    @classmethod
    def of(cls, scope: Construct, provider=None) -> "BootstrapBucket":
        stack = TerraformStack.of(scope)
        found = stack.node.try_find_child(_holder_id(provider))
        return found if found is not None else cls(stack, _holder_id(provider), provider=provider)

    def __init__(self, scope: Construct, id: str, *, provider=None) -> None:
        super().__init__(scope, id)
        self.provider = provider
        account = aws("data_aws_caller_identity").DataAwsCallerIdentity(self, "account", provider=provider).account_id
        region = aws("data_aws_region").DataAwsRegion(self, "region", provider=provider).region
        self.name = f"{bucket_prefix(scope, provider)}{account}-{region}"
        s3 = lambda name: aws(f"s3_bucket_{name}")  # noqa: E731
        self.bucket = aws("s3_bucket").S3Bucket(self, "bucket", bucket=self.name, force_destroy=True, provider=provider)
        bucket = self.bucket.id
        self.public_access_block, self.ownership = block_public_access(self, bucket, provider)
        self.encryption = encrypt(self, bucket, provider)
        self.versioning = keep_versions(self, bucket, provider)
        module = s3("lifecycle_configuration")
        self.lifecycle_rules = module.S3BucketLifecycleConfiguration(
            self, "lifecycle", bucket=bucket, provider=provider,
            rule=[module.S3BucketLifecycleConfigurationRule(
                id="expire-replaced-bundles",
                status="Enabled",
                filter=[module.S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                noncurrent_version_expiration=[
                    module.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=NONCURRENT_DAYS)
                ],
                abort_incomplete_multipart_upload=[
                    module.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=7)
                ],
            )],
            depends_on=[self.versioning],
        )
        self.policy = s3("policy").S3BucketPolicy(
            self, "policy", bucket=bucket, provider=provider,
            policy=policy_document([deny_insecure_transport(self.bucket.arn)]),
            # Public access block first: a policy write racing it can be refused.
            depends_on=[self.public_access_block],
        )

    def add(self, scope: Construct, id: str, *, source: BundleSource, bundle: Bundle):
        """The object for one node's ``bundle`` (created under ``scope``)."""
        return aws("s3_object").S3Object(
            scope, id, bucket=self.bucket.id, key=source.key, content_base64=bundle.content_base64(),
            content_type="application/gzip", provider=self.provider,
            # Settings first: the object is written encrypted, into a versioned bucket.
            depends_on=[self.encryption, self.versioning, self.policy],
        )

    def read_statement(self, source: BundleSource) -> dict:
        """The one IAM statement an instance needs: read its own bundle object."""
        return {
            "Sid": "ReadOwnBootstrapBundle",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"{self.bucket.arn}/{source.key}"],
        }


def attach_bundle(scope: Construct, id: str, *, source: BundleSource, bundle: Bundle, provider=None):
    """The stack's :class:`BootstrapBucket`, ``scope``'s bundle object in it and the
    statement that lets the instance role read it: ``(object, statement)``."""
    bucket = BootstrapBucket.of(scope, provider)
    return bucket.add(scope, id, source=source, bundle=bundle), bucket.read_statement(source)
