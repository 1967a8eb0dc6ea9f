"""The one module that imports the Terraform-CDK framework.

Every other module gets ``App``, ``TerraformStack``, the AWS bindings and friends
from here, so the library can run on CDK for Terraform (``cdktf``) today and on CDK
Terrain (``cdktn``) without touching the constructs.

AWS bindings are imported per submodule through :func:`aws`: the provider package's
root ``__init__`` eagerly imports ~2,200 submodules (seconds and hundreds of MB),
so we never import it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from cdktf import (
    App,
    Fn,
    TerraformOutput,
    TerraformResourceLifecycle,
    TerraformStack,
    Token,
)
from cdktf import Testing as SynthTesting  # pytest would collect a name "Testing"
from constructs import Construct

AWS_PROVIDER_PACKAGE = "cdktf_cdktf_provider_aws"


def aws(submodule: str) -> ModuleType:
    """Import one AWS provider binding submodule, e.g. ``aws("instance").Instance``."""
    return importlib.import_module(f"{AWS_PROVIDER_PACKAGE}.{submodule}")


def is_token(value: object) -> bool:
    """True when ``value`` is only known at deploy time (a Terraform reference)."""
    return isinstance(value, str) and Token.is_unresolved(value)


__all__ = [
    "App",
    "Construct",
    "Fn",
    "SynthTesting",
    "TerraformOutput",
    "TerraformResourceLifecycle",
    "TerraformStack",
    "Token",
    "aws",
    "is_token",
]
