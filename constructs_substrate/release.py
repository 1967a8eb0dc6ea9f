"""Where a node's binaries come from and how they are verified before first use.

A node never runs an unverified binary. Each artifact is verified either against a
SHA-256 pinned here, or against the release's published ``.sha256`` file whose
artifact carries a detached GPG signature (``.asc``) checked against a configured key
fingerprint. The bootstrap script (``bootstrap/templates/install-binaries.sh``)
implements the check; this module only describes what to fetch.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ._model import Model
from .errors import ConfigError, Problem

PARITY_RELEASE_KEY = "90BD75EBBB8E95CB3DA6078F94A4029AB4B35DAE"
"""Parity's release signing key, as published in the Polkadot docs."""

POLKADOT_SDK_DOWNLOADS = "https://github.com/paritytech/polkadot-sdk/releases/download"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FINGERPRINT = re.compile(r"^[0-9A-F]{40}$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,79}$")


def _https(url: str, field: str) -> str:
    if not re.match(r"^https://[A-Za-z0-9.-]+(:\d+)?/[^\s'\"`$\\]*$", url):
        raise ValueError(
            f"{field} must be an https:// URL without spaces, quotes or '$' (got {url!r})"
        )
    return url


class Artifact(Model):
    """One file to download and verify, installed as an executable."""

    name: str
    """File name on disk, e.g. ``polkadot`` or ``polkadot-execute-worker``."""
    url: str
    """HTTPS download URL."""
    sha256: str | None = None
    """Pinned lowercase hex SHA-256. Default: none, then the release's GPG signature is used."""
    sha256_url: str | None = None
    """URL of the release's published checksum file (``<url>.sha256``). Default: none."""
    signature_url: str | None = None
    """URL of the detached GPG signature (``<url>.asc``). Default: none."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _FILE_NAME.match(value):
            raise ValueError("must be a plain file name (letters, digits, '.', '_', '-')")
        return value

    @field_validator("url", "sha256_url", "signature_url")
    @classmethod
    def _url(cls, value: str | None, info) -> str | None:
        return None if value is None else _https(value, info.field_name)

    @field_validator("sha256")
    @classmethod
    def _sha(cls, value: str | None) -> str | None:
        if value is not None and not _SHA256.match(value):
            raise ValueError("must be 64 lowercase hex characters (the output of sha256sum)")
        return value


class BinaryRelease(Model):
    """A versioned set of binaries for one chain. Changing ``version`` or any pin
    changes the rendered bootstrap, which replaces (``SubstrateNode``) or refreshes
    (``AutoscalingApiCluster``) the instances: that is how nodes are upgraded."""

    version: str
    """Release label, used as the install directory (``/opt/substrate/releases/<version>``)."""
    artifacts: tuple[Artifact, ...] = Field(min_length=1)
    """The files; the first is the node binary, the rest sit beside it (workers)."""
    gpg_fingerprint: str | None = None
    """40-hex fingerprint of the key that signs the release. Default: none (then every
    artifact needs a pinned ``sha256``)."""
    keyserver: str = "hkps://keyserver.ubuntu.com"
    """Where the signing key is fetched from (the fingerprint, not the server, is trusted)."""

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError("must be letters, digits, '.', '_', '+' or '-' (it names a directory)")
        return value

    @field_validator("gpg_fingerprint")
    @classmethod
    def _fpr(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.replace(" ", "").upper()
        if not _FINGERPRINT.match(value):
            raise ValueError("must be a full 40-hex-digit key fingerprint (not a short key id)")
        return value

    @field_validator("keyserver")
    @classmethod
    def _keyserver(cls, value: str) -> str:
        if not re.match(r"^hkps://[A-Za-z0-9.-]+(:\d+)?$", value):
            raise ValueError("must be an hkps:// keyserver address")
        return value

    @model_validator(mode="after")
    def _verifiable(self) -> "BinaryRelease":
        names = [a.name for a in self.artifacts]
        if len(set(names)) != len(names):
            raise ConfigError.of("artifacts", f"artifact names must be unique (got {names})")
        problems = [
            Problem(
                f"artifacts.{index}.sha256",
                f"artifact '{artifact.name}' cannot be verified: pin its sha256, or set "
                "gpg_fingerprint plus the artifact's signature_url and sha256_url",
            )
            for index, artifact in enumerate(self.artifacts)
            if not artifact.sha256
            and not (self.gpg_fingerprint and artifact.signature_url and artifact.sha256_url)
        ]
        if problems:
            raise ConfigError(problems)
        return self

    @property
    def binary(self) -> str:
        return self.artifacts[0].name

    @property
    def verification(self) -> Literal["sha256", "gpg"]:
        return "sha256" if all(a.sha256 for a in self.artifacts) else "gpg"

    @classmethod
    def polkadot_sdk(
        cls,
        tag: str,
        binaries: tuple[str, ...],
        sha256: dict[str, str] | None = None,
    ) -> "BinaryRelease":
        """A polkadot-sdk GitHub release, e.g. ``polkadot-stable2606-1``.

        Without ``sha256`` pins, each binary is verified with its ``.asc`` signature by
        Parity's release key and its ``.sha256`` checksum file.
        """
        pins = sha256 or {}
        return cls(
            version=tag,
            gpg_fingerprint=None if pins and set(pins) >= set(binaries) else PARITY_RELEASE_KEY,
            artifacts=tuple(
                Artifact(
                    name=name,
                    url=f"{POLKADOT_SDK_DOWNLOADS}/{tag}/{name}",
                    sha256=pins.get(name),
                    sha256_url=f"{POLKADOT_SDK_DOWNLOADS}/{tag}/{name}.sha256",
                    signature_url=f"{POLKADOT_SDK_DOWNLOADS}/{tag}/{name}.asc",
                )
                for name in binaries
            ),
        )
