"""Stacks for the example apps: one per region, with its provider and state backend.

Constructs never create stacks or providers; apps do, through this module, so every
app gets the same provider tags and the same state settings.
"""

from __future__ import annotations

import os

from ._framework import App, LocalBackend, S3Backend, TerraformStack, aws

STATE_BUCKET_ENV = "SUBSTRATE_STATE_BUCKET"
"""S3 bucket for Terraform state (encrypted, with S3 native locking). Unset: local files."""


def region_stack(app: App, name: str, region: str, tags: dict[str, str]):
    """A stack with an AWS provider for ``region`` and a state backend.

    Returns ``(stack, provider)``. State goes to ``s3://$SUBSTRATE_STATE_BUCKET/<name>.tfstate``
    when the variable is set, otherwise to ``terraform.<name>.tfstate`` in the project
    directory (a relative path, so synthesis is identical on every machine).
    """
    stack = TerraformStack(app, name)
    provider = aws("provider").AwsProvider(
        stack, "aws", region=region, default_tags=[{"tags": {"project": "constructs-substrate", **tags}}]
    )
    bucket = os.environ.get(STATE_BUCKET_ENV, "")
    if bucket:
        S3Backend(stack, bucket=bucket, key=f"{name}.tfstate", region=region, encrypt=True, use_lockfile=True)
    else:
        # Relative to the stack's directory cdktf.out/stacks/<name>/.
        LocalBackend(stack, path=f"../../../terraform.{name}.tfstate")
    return stack, provider
