"""Where a node's binaries come from and how they are verified before first use.

A node never runs an unverified binary. Each artifact is verified either against a
SHA-256 pinned here, or against the release's published ``.sha256`` file whose
artifact carries a detached GPG signature (``.asc``) checked against a configured key
fingerprint. The bootstrap script (``bootstrap/templates/install-binaries.sh``)
implements the check; this module only describes what to fetch.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from importlib.resources import files
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ._model import Model, sha256_hex
from .errors import ConfigError, Problem

PARITY_RELEASE_KEY = "90BD75EBBB8E95CB3DA6078F94A4029AB4B35DAE"
"""Parity's release signing key ("ParityReleases <release-team@parity.io>"), as
published on docs.polkadot.com and in polkadot-sdk's ``.github/scripts/common/lib.sh``."""

KEYS_PACKAGE = "constructs_substrate.bootstrap"
KEYS_DIR = "keys"
"""Armored public keys shipped with the library, one ``<FINGERPRINT>.asc`` each
(``constructs_substrate/bootstrap/keys/``): :func:`bundled_key` finds them."""

POLKADOT_SDK_DOWNLOADS = "https://github.com/paritytech/polkadot-sdk/releases/download"

_FINGERPRINT = re.compile(r"^[0-9A-F]{40}$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,79}$")


def _https(url: str, field: str) -> str:
    if not re.match(r"^https://[A-Za-z0-9.-]+(:\d+)?/[^\s'\"`$\\]*$", url):
        raise ValueError(
            f"{field} must be an https:// URL without spaces, quotes or '$' (got {url!r})"
        )
    return url


def _dearmor(text: str) -> bytes:
    """The bytes of one ASCII-armored ``PUBLIC KEY BLOCK`` (RFC 4880, section 6.2)."""
    lines = [line.strip() for line in text.strip().splitlines()]
    if not lines or lines[0] != "-----BEGIN PGP PUBLIC KEY BLOCK-----" or "-----END PGP PUBLIC KEY BLOCK-----" not in lines:
        raise ValueError("must be one ASCII-armored OpenPGP public key block (gpg --armor --export FINGERPRINT)")
    body = lines[1:lines.index("-----END PGP PUBLIC KEY BLOCK-----")]
    if "" in body:  # armor headers ("Comment: ...") end at the first blank line
        body = body[body.index("") + 1:]
    data = "".join(line for line in body if not line.startswith("="))  # "=XXXX": the CRC-24 line
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"the key block is not valid base64 ({error})") from None


def key_fingerprints(armored: str) -> tuple[set[str], set[str]]:
    """The fingerprints of the primary keys and of the subkeys in an armored public
    key block (OpenPGP v4: SHA-1, v5/v6: SHA-256 over the key packet, RFC 4880
    section 12.2 and RFC 9580 section 5.5.4). Raises ``ValueError`` if it cannot be read."""
    data, i = _dearmor(armored), 0
    primary: set[str] = set()
    subkeys: set[str] = set()
    while i < len(data):
        head = data[i]
        if not head & 0x80:
            raise ValueError("the key block is not OpenPGP data")
        if head & 0x40:  # new-format packet header
            tag, first = head & 0x3F, data[i + 1]
            if first < 192:
                size, i = first, i + 2
            elif first < 224:
                size, i = ((first - 192) << 8) + data[i + 2] + 192, i + 3
            elif first == 255:
                size, i = int.from_bytes(data[i + 2:i + 6], "big"), i + 6
            else:
                raise ValueError("the key block uses partial lengths, which key packets never do")
        else:  # old format
            tag, kind = (head >> 2) & 0x0F, head & 0x03
            if kind == 3:
                raise ValueError("the key block has a packet of indeterminate length")
            width = 1 << kind
            size, i = int.from_bytes(data[i + 1:i + 1 + width], "big"), i + 1 + width
        body, i = data[i:i + size], i + size
        if tag in (6, 14) and body:  # public key, public subkey
            version = body[0]
            if version == 4:
                fpr = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest()
            elif version in (5, 6):
                prefix = b"\x9a" if version == 5 else b"\x9b"
                fpr = hashlib.sha256(prefix + len(body).to_bytes(4, "big") + body).hexdigest()
            else:
                continue
            (primary if tag == 6 else subkeys).add(fpr.upper())
    if not primary:
        raise ValueError("the key block holds no public key")
    return primary, subkeys


def bundled_key(fingerprint: str) -> str | None:
    """The armored public key shipped with the library for ``fingerprint``
    (``bootstrap/keys/<FINGERPRINT>.asc``), or ``None``."""
    path = files(KEYS_PACKAGE).joinpath(KEYS_DIR, f"{fingerprint}.asc")
    return path.read_text(encoding="ascii") if path.is_file() else None


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
        return None if value is None else sha256_hex(value, "the artifact")


class BinaryRelease(Model):
    """A versioned set of binaries for one chain. Changing ``version`` or any pin
    changes the upgrade document's default (``SubstrateNode``: upgraded in place with
    one SSM command, docs/substrate-node.md) or refreshes the instances
    (``AutoscalingApiCluster``)."""

    version: str
    """Release label, used as the install directory (``/opt/substrate/releases/<version>``)."""
    artifacts: tuple[Artifact, ...] = Field(min_length=1)
    """The files; the first is the node binary, the rest sit beside it (workers)."""
    gpg_fingerprint: str | None = None
    """40-hex fingerprint of the key that signs the release. Default: none (then every
    artifact needs a pinned ``sha256``)."""
    signing_key: str | None = None
    """The signing key itself: an ASCII-armored public key block (``gpg --armor
    --export FINGERPRINT``) holding ``gpg_fingerprint``. It travels in the user data
    and is imported into a throwaway keyring at install: no keyserver at boot.
    Default: none, then the key shipped with the library for that fingerprint
    (``bootstrap/keys/<FINGERPRINT>.asc``) if there is one, else ``keyserver``."""
    keyserver: str = "hkps://keyserver.ubuntu.com"
    """Where the signing key is fetched from at boot, with retries, when no
    ``signing_key`` is known (the fingerprint, not the server, is trusted)."""

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
        if self.signing_key is not None:
            if self.gpg_fingerprint is None:
                raise ConfigError.of("signing_key", "a signing key needs gpg_fingerprint: set the key's 40-hex fingerprint")
            try:
                primary, subkeys = key_fingerprints(self.signing_key)
            except ValueError as error:
                raise ConfigError.of("signing_key", str(error)) from None
            if self.gpg_fingerprint not in primary | subkeys:
                raise ConfigError.of(
                    "signing_key",
                    f"the key block does not hold {self.gpg_fingerprint} (it holds {', '.join(sorted(primary))}); "
                    "export the right key or fix gpg_fingerprint",
                )
        return self

    @property
    def effective_signing_key(self) -> str | None:
        """``signing_key``, else the library's bundled key for the fingerprint, else
        ``None`` (then the key is fetched from ``keyserver`` at boot)."""
        if self.signing_key is not None or self.gpg_fingerprint is None:
            return self.signing_key
        return bundled_key(self.gpg_fingerprint)

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
        signing_key: str | None = None,
    ) -> "BinaryRelease":
        """A polkadot-sdk GitHub release, e.g. ``polkadot-stable2606-1``.

        Without ``sha256`` pins, each binary is verified with its ``.asc`` signature by
        Parity's release key and its ``.sha256`` checksum file. ``signing_key``: that
        key, armored (see :attr:`signing_key`); it must hold ``PARITY_RELEASE_KEY``.
        """
        pins = sha256 or {}
        gpg = not (pins and set(pins) >= set(binaries))
        return cls(
            version=tag,
            gpg_fingerprint=PARITY_RELEASE_KEY if gpg else None,
            signing_key=signing_key if gpg else None,
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
