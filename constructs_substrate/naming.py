"""Resource names derived from a construct's path: short, unique, AWS-safe."""

from __future__ import annotations

import hashlib
import re

from ._framework import Construct


def name_prefix(scope: Construct, max_length: int = 32) -> str:
    """``<id>-<hash of path>-``: unique per construct, stable across synths."""
    path = scope.node.path
    digest = hashlib.sha256(path.encode()).hexdigest()[:6]
    base = re.sub(r"[^a-z0-9-]+", "-", scope.node.id.lower()).strip("-") or "node"
    return f"{base[: max_length - 8]}-{digest}-"
