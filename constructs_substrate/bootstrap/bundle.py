"""The bootstrap bundle: every file of a node's bootstrap in ONE deterministic
``tar.gz`` object in S3, and the small boot stage the user data keeps.

EC2 accepts 16 KiB of user data; a cluster instance's bootstrap had reached 15.8 KB
gzipped. The user data now carries only the boot stage (:func:`boot_files`):

- ``/etc/substrate/bundle.json``: where the bundle is and its SHA-256 and size, so a
  changed bundle changes the user data (an instance replacement or a new launch
  template version, exactly as before);
- ``bundle_fetch.py``, which fetches, verifies and unpacks it and then runs
  ``bootstrap.sh``;
- ``lifecycle_action.py``: the stdlib IMDSv2 + SigV4 client ``bundle_fetch.py``
  signs its GET with (and that the cluster abandons its launch with if the fetch
  fails).

:func:`pack` is deterministic (sorted by the renderer's write order, mtime 0, numeric
ids 0, owner names kept, gzip mtime 0): the same files always give the same bytes,
so an unchanged config changes neither the object nor the user data.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass
from typing import Sequence

from .. import layout
from . import paths
from .shipped import module_source
from .model import RenderedFile

BUNDLE_LIMIT = 256 * 1024
"""Largest bundle (gzipped bytes) a node may have: 16 times EC2's user data limit. The
object lives in Terraform's state and plan (base64), so it stays small on purpose;
bulk data (binaries, snapshots) is downloaded by the scripts, never shipped here."""
BOOT_CONFIG = f"{layout.CONFIG_DIR}/bundle.json"
FETCH_SCRIPT = paths.script("bundle_fetch.py")
AWS_CLIENT = paths.script("lifecycle_action.py")
"""The stdlib AWS client (IMDSv2, SigV4); the cluster's lifecycle scripts call it too."""
FETCH_ATTEMPTS = 8
"""GETs before the boot fails: 1, 2, 4 ... 60 s apart (about 2 minutes in all), enough
for a new instance role's policy to propagate."""
IMDS_URL = "http://169.254.169.254"
BOOT_PATHS = (BOOT_CONFIG, AWS_CLIENT, FETCH_SCRIPT)
"""The files the user data writes; everything else is in the bundle."""
MAX_PREFIX = 63 - len("123456789012-us-isof-southeast-1")
"""A bucket name is at most 63 characters: ``<prefix><account>-<region>`` (the longest
region name, in the ISO partition, has 19)."""
_PREFIX = re.compile(r"^[a-z0-9][a-z0-9-]*-$")
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!_.*'()/-]*$")


@dataclass(frozen=True)
class BundleSource:
    """Where an instance finds its bundle: bucket ``<bucket_prefix><account>-<region>``
    (of the instance's own account and region), object ``key``."""

    bucket_prefix: str
    key: str

    def __post_init__(self) -> None:
        if not _PREFIX.match(self.bucket_prefix) or len(self.bucket_prefix) > MAX_PREFIX:
            raise ValueError(
                f"BundleSource bucket_prefix {self.bucket_prefix!r}: lower-case letters, digits and '-', "
                f"ending in '-', at most {MAX_PREFIX} characters"
            )
        if not _KEY.match(self.key) or "//" in self.key or len(self.key) > 512:
            raise ValueError(f"BundleSource key {self.key!r}: a relative S3 key of URL-safe characters")


DEFAULT_SOURCE = BundleSource("substrate-bootstrap-", "bootstrap.tar.gz")
"""For a bootstrap rendered outside a stack (tests, inspection); the constructs pass
their own (:func:`~constructs_substrate.bootstrap.bundle_bucket.bundle_source`)."""


def _member(file: RenderedFile) -> tuple[tarfile.TarInfo, bytes]:
    content = file.content.encode()
    info = tarfile.TarInfo(file.path.lstrip("/"))
    info.size, info.mode, info.mtime = len(content), int(file.mode, 8), 0
    info.uid = info.gid = 0
    info.uname, info.gname = file.owner.split(":")
    return info, content


def pack(files: Sequence[RenderedFile]) -> bytes:
    """``files`` as a deterministic ``tar.gz`` (in the order given)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for file in files:
            info, content = _member(file)
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0)


@dataclass(frozen=True)
class Bundle:
    """A node's bootstrap files as the S3 object (``data``, a ``tar.gz``)."""

    files: tuple[RenderedFile, ...]
    data: bytes

    @classmethod
    def of(cls, files: Sequence[RenderedFile]) -> "Bundle":
        return cls(tuple(files), pack(files))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)

    def content_base64(self) -> str:
        """For ``aws_s3_object.content_base64``."""
        return base64.b64encode(self.data).decode("ascii")


def unpacked(data: bytes) -> list[tuple[str, str]]:
    """``(path, text)`` of every file in a bundle (for scanners and tests)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return [("/" + m.name, tar.extractfile(m).read().decode()) for m in tar if m.isfile()]


def fetch_source() -> str:
    """``bundle_fetch.py`` as shipped."""
    return module_source("constructs_substrate.bootstrap", "bundle_fetch.py")


def aws_client_source() -> str:
    """``constructs_substrate/cluster/lifecycle_action.py`` as shipped."""
    return module_source("constructs_substrate.cluster", "lifecycle_action.py")


def boot_config(source: BundleSource, bundle: Bundle, on_failure: Sequence[Sequence[str]] = ()) -> dict:
    """What ``bundle_fetch.py`` reads. Tests point ``imds``/``endpoint``/``root`` at fakes."""
    return {
        "bucket_prefix": source.bucket_prefix,
        "key": source.key,
        "sha256": bundle.sha256,
        "size": bundle.size,
        "attempts": FETCH_ATTEMPTS,
        "imds": IMDS_URL,
        "endpoint": "",
        "root": "/",
        "on_failure": [list(command) for command in on_failure],
    }


def boot_files(source: BundleSource, bundle: Bundle, on_failure: Sequence[Sequence[str]] = ()) -> list[RenderedFile]:
    """The files the user data itself writes (see the module docstring)."""
    config = json.dumps(boot_config(source, bundle, on_failure), indent=1, sort_keys=True) + "\n"
    return [
        RenderedFile(BOOT_CONFIG, config),
        RenderedFile(AWS_CLIENT, aws_client_source()),
        RenderedFile(FETCH_SCRIPT, fetch_source()),
    ]


def boot_command(env_file: str) -> tuple[str, ...]:
    """cloud-init's ``runcmd``: fetch the bundle, then (in the same process) the bootstrap."""
    return ("python3", FETCH_SCRIPT, BOOT_CONFIG, paths.BOOTSTRAP_SCRIPT, env_file)
