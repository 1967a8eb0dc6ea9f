"""The settings every bucket of ours has: no public access, no ACLs, encrypted at rest,
versioned. One place for them, so the bootstrap bundle, ALB access log and canary
buckets cannot drift apart. Each function creates its resources in ``scope`` under
fixed ids (``public-access-block``, ``ownership``, ``encryption``, ``versioning``)."""

from __future__ import annotations

from typing import Any

from ._framework import Construct, aws


def _s3(name: str):
    return aws(f"s3_bucket_{name}")


def block_public_access(scope: Construct, bucket: str, provider=None) -> tuple[Any, Any]:
    """All four public-access blocks, and ACLs disabled (the bucket owner owns every
    object): ``(public_access_block, ownership_controls)``."""
    blocked = _s3("public_access_block").S3BucketPublicAccessBlock(
        scope, "public-access-block", bucket=bucket, block_public_acls=True, block_public_policy=True,
        ignore_public_acls=True, restrict_public_buckets=True, provider=provider,
    )
    ownership = _s3("ownership_controls").S3BucketOwnershipControls(
        scope, "ownership", bucket=bucket, rule={"object_ownership": "BucketOwnerEnforced"}, provider=provider
    )
    return blocked, ownership


def encrypt(scope: Construct, bucket: str, provider=None, *, kms_key_arn: str | None = None,
            bucket_key: bool | None = True):
    """Default encryption: SSE-S3, or SSE-KMS with ``kms_key_arn``. ``bucket_key``:
    S3 Bucket Keys (fewer KMS requests); ``None`` leaves the setting out (ELB access
    log delivery supports SSE-S3 only, where it does nothing)."""
    module = _s3("server_side_encryption_configuration")
    default = module.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
        **({"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key_arn} if kms_key_arn else {"sse_algorithm": "AES256"})
    )
    rule = module.S3BucketServerSideEncryptionConfigurationRuleA(
        apply_server_side_encryption_by_default=default,
        **({} if bucket_key is None else {"bucket_key_enabled": bucket_key}),
    )
    return module.S3BucketServerSideEncryptionConfigurationA(
        scope, "encryption", bucket=bucket, provider=provider, rule=[rule]
    )


def keep_versions(scope: Construct, bucket: str, provider=None):
    """Versioning on (an overwritten or deleted object can be recovered until the
    bucket's lifecycle expires it)."""
    return _s3("versioning").S3BucketVersioningA(
        scope, "versioning", bucket=bucket, versioning_configuration={"status": "Enabled"}, provider=provider
    )
