"""Real Terraform, offline: find the binary and the provider mirror, write a CLI config,
run commands in a working directory and time them.

- ``terraform``: ``$SUBSTRATE_TERRAFORM`` or the one on ``PATH``.
- the provider mirror (a folder holding
  ``registry.terraform.io/hashicorp/aws/<version>/linux_amd64/terraform-provider-aws_*``):
  ``$SUBSTRATE_TF_PROVIDER_MIRROR`` or the first of :data:`MIRROR_CANDIDATES` that holds one.
  Nothing can be downloaded, so the CLI config installs providers from the mirror only
  (``direct`` excludes the registry); ``terraform init`` then symlinks the provider
  (no copy of its ~700 MB).
- the machine presets ``TF_CLI_CONFIG_FILE`` to a file that does not exist: every run
  here gets :attr:`Terraform.env` with its own config and ``CHECKPOINT_DISABLE=1``.

Missing terraform or mirror: :func:`find_terraform` returns a one-line reason; the
tests skip with it locally and fail with it when ``CI`` is set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

TERRAFORM_ENV = "SUBSTRATE_TERRAFORM"
MIRROR_ENV = "SUBSTRATE_TF_PROVIDER_MIRROR"
MIRROR_CANDIDATES = (
    "/opt/tf-plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
)
"""Where Terraform's own documentation puts implied local mirrors, plus the image's folder."""
_PROVIDER_GLOB = "registry.terraform.io/hashicorp/aws/*/linux_amd64/terraform-provider-aws_*"
COMMAND_TIMEOUT = 600
"""Seconds any one terraform command may take (a regional apply takes ~2 min here)."""


@dataclass(frozen=True)
class Result:
    """One terraform command: exit code, output, wall seconds."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def check(self, *ok: int) -> "Result":
        """Raise with the command's output unless its exit code is in ``ok`` (default 0)."""
        if self.returncode not in (ok or (0,)):
            tail = "\n".join((self.stdout + self.stderr).splitlines()[-60:])
            raise AssertionError(f"terraform {' '.join(self.args)} exited {self.returncode}:\n{tail}")
        return self


@dataclass(frozen=True)
class Terraform:
    binary: str
    mirror: Path
    aws_version: str
    """The hashicorp/aws version the mirror holds (e.g. ``5.100.0``)."""
    config_file: Path

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))}
        env.update(
            TF_CLI_CONFIG_FILE=str(self.config_file),
            CHECKPOINT_DISABLE="1",
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
            AWS_EC2_METADATA_DISABLED="true",
        )
        return env

    def run(self, workdir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = COMMAND_TIMEOUT) -> Result:
        start = time.monotonic()
        try:
            proc = subprocess.run(
                [self.binary, *args], cwd=workdir, env={**self.env, **(env or {})},
                capture_output=True, text=True, timeout=timeout,
            )
        except subprocess.TimeoutExpired as expired:  # a hang is a failure with its output, not a stuck run
            text = lambda b: b.decode(errors="replace") if isinstance(b, bytes) else (b or "")  # noqa: E731
            return Result(tuple(args), -1, text(expired.stdout),
                          text(expired.stderr) + f"\n(killed after {timeout:g} s)", time.monotonic() - start)
        return Result(tuple(args), proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)

    def init(self, workdir: Path, *extra: str, backend: bool = True, env: dict[str, str] | None = None) -> Result:
        args = ["init", "-input=false", "-no-color", *extra]
        if not backend:
            args.append("-backend=false")
        return self.run(workdir, *args, env=env).check()

    def validate(self, workdir: Path) -> tuple[Result, list[dict]]:
        """``terraform validate -json``: the result and its diagnostics."""
        result = self.run(workdir, "validate", "-json", "-no-color")
        try:
            diagnostics = json.loads(result.stdout).get("diagnostics", [])
        except json.JSONDecodeError:
            diagnostics = [{"severity": "error", "summary": "validate printed no JSON", "detail": result.stderr[-2000:]}]
        return result, diagnostics


def find_mirror() -> tuple[Path, str] | str:
    """``(mirror root, aws version)`` or the reason there is none."""
    override = os.environ.get(MIRROR_ENV)
    candidates = [override] if override else list(MIRROR_CANDIDATES)
    for candidate in candidates:
        root = Path(candidate).expanduser()
        found = sorted(root.glob(_PROVIDER_GLOB)) if root.is_dir() else []
        if found:
            version = found[-1].parents[1].name
            return root, version
    where = f"${MIRROR_ENV}={override}" if override else ", ".join(MIRROR_CANDIDATES)
    return f"no hashicorp/aws provider mirror in {where} (set {MIRROR_ENV} to the folder above registry.terraform.io)"


def find_terraform(config_dir: Path) -> Terraform | str:
    """A ready :class:`Terraform` (its CLI config written into ``config_dir``) or the
    one-line reason it cannot run here."""
    binary = os.environ.get(TERRAFORM_ENV) or shutil.which("terraform")
    if not binary:
        return f"terraform is not on PATH (or set {TERRAFORM_ENV})"
    mirror = find_mirror()
    if isinstance(mirror, str):
        return mirror
    root, version = mirror
    config = Path(config_dir) / "terraform.rc"
    config.write_text(cli_config(root))
    return Terraform(binary, root, version, config)


def cli_config(mirror: Path) -> str:
    """Providers from the mirror only: nothing is downloaded."""
    return (
        "provider_installation {\n"
        f"  filesystem_mirror {{\n    path    = {json.dumps(str(mirror))}\n"
        '    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n'
        '  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n'
        "}\n"
    )

