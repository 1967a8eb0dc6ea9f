"""The values the bootstrap renderer produces and accepts."""

from __future__ import annotations

import base64
import gzip
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .bundle import Bundle, BundleSource

USER_DATA_LIMIT = 16384
"""EC2 refuses user data above 16 KiB (raw bytes, before base64); ours is gzipped and
holds only the boot stage (the bundle has its own bound, ``bundle.BUNDLE_LIMIT``)."""

_PATH = re.compile(r"^(/(?!\.\.?(/|$))[A-Za-z0-9._@+-]+)+$")
_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
_MODE = re.compile(r"^0?[0-7]{3}$")
_OWNER = re.compile(r"^[a-z_][a-z0-9_-]*:[a-z_][a-z0-9_-]*$")


@dataclass(frozen=True)
class RenderedFile:
    """One file cloud-init writes before the bootstrap runs."""

    path: str
    content: str
    mode: str = "0644"
    owner: str = "root:root"

    def __post_init__(self) -> None:
        checks = (
            (_PATH, self.path, "path must be absolute, without spaces or '..'"),
            (_MODE, self.mode, "mode must be octal like '0644'"),
            (_OWNER, self.owner, "owner must be 'user:group'"),
        )
        for pattern, value, message in checks:
            if not pattern.match(value):
                raise ValueError(f"RenderedFile {value!r}: {message}")


@dataclass(frozen=True)
class BootstrapExtension:
    """Steps another construct (e.g. an autoscaling cluster) adds to a node's bootstrap."""

    files: tuple[RenderedFile, ...] = ()
    packages: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    """Shell lines run by ``bootstrap.sh`` after the node is started, in order."""
    on_boot_failure: tuple[str, ...] = ()
    """A command (argv) the boot stage runs when the bootstrap bundle cannot be fetched
    or verified (then nothing of the bootstrap, and so no ``on-failure.sh``, exists);
    it may only use the boot stage's files (``lifecycle_action.py``)."""

    def __post_init__(self) -> None:
        for package in self.packages:
            if not _PACKAGE.match(package):
                raise ValueError(f"BootstrapExtension: {package!r} is not a Debian package name")


@dataclass(frozen=True)
class Bootstrap:
    """A node's rendered cloud-init user data (the boot stage) and bootstrap bundle."""

    cloud_config: str
    """The ``#cloud-config`` YAML text: the boot stage only."""
    files: tuple[RenderedFile, ...]
    """Every file written: the boot stage's, then the bundle's (scripts, units, env,
    nginx), in write order; for tests."""
    bundle: "Bundle"
    """The S3 object with every file but the boot stage's (see ``bundle.py``)."""
    source: "BundleSource"
    """Where the instance fetches ``bundle`` (bucket prefix and key)."""
    boot_files: tuple[RenderedFile, ...] = ()
    """The files the user data itself writes."""

    def user_data(self) -> bytes:
        """Gzipped cloud-config (cloud-init detects gzip). ``mtime=0`` keeps it
        byte-identical between renders, so an unchanged config never replaces a node."""
        return gzip.compress(self.cloud_config.encode(), compresslevel=9, mtime=0)

    def user_data_base64(self) -> str:
        return base64.b64encode(self.user_data()).decode("ascii")

    def gzip_size(self) -> int:
        return len(self.user_data())

    def file(self, path: str) -> RenderedFile:
        """The file written at ``path`` (``KeyError`` when there is none)."""
        for item in self.files:
            if item.path == path:
                return item
        raise KeyError(path)
