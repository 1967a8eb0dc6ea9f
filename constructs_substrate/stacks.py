"""Stacks for the example apps: one per region, with its provider and state backend.

Constructs never create stacks or providers; apps do, through this module, so every
app gets the same provider tags and the same state settings.

State (see docs/apps.md, "Terraform state"): without a state bucket, each stack keeps a
local file ``terraform.<stack>.tfstate`` in the project directory. With
``DeploymentSettings.state_bucket`` (env ``SUBSTRATE_STATE_BUCKET``), every stack of
every region keeps its state in that one bucket, in its one region
(``state_region``), under ``[<state_key_prefix>/]<stack>.tfstate``, encrypted and
locked with an S3 lock file (Terraform >= 1.10, which the stack then requires).
"""

from __future__ import annotations

import inspect
import os
from typing import Mapping

from ._framework import App, LocalBackend, S3Backend, TerraformStack, aws
from .settings import STATE_FIELDS, DeploymentSettings, _from_env

STATE_BUCKET_ENV = "SUBSTRATE_STATE_BUCKET"
"""S3 bucket for Terraform state (encrypted, with S3 native locking). Unset: local files."""

LOCKFILE_TERRAFORM = ">= 1.10.0"
"""Terraform versions whose S3 backend has ``use_lockfile`` (added in 1.10; the
DynamoDB lock table is deprecated since 1.11)."""


def state_settings(environ: Mapping[str, str] | None = None) -> DeploymentSettings:
    """Settings with only the state fields taken from the environment (``SUBSTRATE_STATE_*``),
    for :func:`region_stack` callers that pass no settings."""
    values = _from_env(dict(os.environ if environ is None else environ))
    return DeploymentSettings(**{k: v for k, v in values.items() if k in STATE_FIELDS})


def _backend_declares(option: str) -> bool:
    """True when the selected framework's ``S3Backend`` has a typed ``option``
    (cdktn 0.24 declares ``use_lockfile``; cdktf 0.21 does not)."""
    return option in inspect.signature(S3Backend.__init__).parameters


def state_backend(stack: TerraformStack, name: str, settings: DeploymentSettings):
    """The backend of ``stack`` (named ``name``) as ``settings`` say; see the module doc."""
    if not settings.state_bucket:
        # Relative to the stack's directory cdktf.out/stacks/<name>/.
        return LocalBackend(stack, path=f"../../../terraform.{name}.tfstate")
    props = dict(bucket=settings.state_bucket, key=settings.state_key(name), region=settings.state_region, encrypt=True)
    if _backend_declares("use_lockfile"):
        backend = S3Backend(stack, **props, use_lockfile=True)
    else:
        # cdktf 0.21's S3Backend predates Terraform 1.10's use_lockfile: the escape hatch
        # writes the same argument into terraform.backend.s3.
        backend = S3Backend(stack, **props)
        backend.add_override("use_lockfile", True)
    # An older Terraform would fail on use_lockfile with "Unsupported argument"; say why instead.
    stack.add_override("terraform.required_version", LOCKFILE_TERRAFORM)
    return backend


def region_stack(app: App, name: str, region: str, tags: dict[str, str], settings: DeploymentSettings | None = None):
    """A stack with an AWS provider for ``region`` and a state backend.

    Returns ``(stack, provider)``. The backend follows ``settings``' state fields
    (``state_bucket``, ``state_region``, ``state_key_prefix``); without ``settings``,
    those fields come from the environment only (:func:`state_settings`). No bucket:
    ``terraform.<name>.tfstate`` in the project directory (a relative path, so
    synthesis is identical on every machine).
    """
    stack = TerraformStack(app, name)
    provider = aws("provider").AwsProvider(
        stack, "aws", region=region, default_tags=[{"tags": {"project": "constructs-substrate", **tags}}]
    )
    state_backend(stack, name, state_settings() if settings is None else settings)
    return stack, provider
