"""The canary's code as a deterministic zip: same code, same bytes, same S3 key.

Synthetics loads Python canaries from ``python/`` in the zip. The package
``substrate_canary`` (this folder's ``websocket``, ``check`` and ``handler`` modules)
goes there with a one-line entry module ``canary_handler.py``; the canary's handler is
``canary_handler.handler``. Entries are sorted, stored uncompressed (deflate output
may differ between zlib versions) and dated 1980-01-01 with fixed permissions.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from importlib.resources import files

HANDLER = "canary_handler.handler"
PACKAGE = "substrate_canary"
MODULES = ("__init__.py", "websocket.py", "check.py", "handler.py")
ENTRY = "from substrate_canary.handler import handler  # noqa: F401  (the canary's entry point)\n"
_EPOCH = (1980, 1, 1, 0, 0, 0)


def canary_sources() -> dict[str, bytes]:
    """Zip member name -> content."""
    here = files(__package__)
    members = {f"python/{PACKAGE}/{name}": here.joinpath(name).read_bytes() for name in MODULES}
    members["python/canary_handler.py"] = ENTRY.encode()
    return members


def build_zip(members: dict[str, bytes] | None = None) -> bytes:
    members = canary_sources() if members is None else members
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever the build machine
            archive.writestr(info, members[name])
    return buffer.getvalue()


def zip_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
