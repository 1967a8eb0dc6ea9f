"""The values the bootstrap renderer produces and accepts."""

from __future__ import annotations

import base64
import gzip
import re
from dataclasses import dataclass

USER_DATA_LIMIT = 16384
"""EC2 refuses user data above 16 KiB (raw bytes, before base64); ours is gzipped."""

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

    def __post_init__(self) -> None:
        for package in self.packages:
            if not _PACKAGE.match(package):
                raise ValueError(f"BootstrapExtension: {package!r} is not a Debian package name")


@dataclass(frozen=True)
class Bootstrap:
    """A node's rendered cloud-init user data."""

    cloud_config: str
    """The ``#cloud-config`` YAML text."""
    files: tuple[RenderedFile, ...]
    """Every file written (scripts, units, env, nginx), in write order; for tests."""

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
