"""The Python programs the bootstrap ships to a node, exactly as the library holds them.

They travel verbatim, docstrings and comments included: the bundle in S3 is not short
of space (gzipped, bounded by ``bundle.BUNDLE_LIMIT``), and the boot stage's two
programs leave more than half of EC2's 16 KiB user data free. While every file was user
data they were minified; that cost about 2 s of every synthesis and a pinned minifier
whose output was the product.
"""

from __future__ import annotations

import functools
from importlib.resources import files as package_files


@functools.cache  # read once per process, not once per node
def module_source(package: str, name: str) -> str:
    """The module ``name`` of ``package`` (e.g. ``lifecycle_action.py`` of
    ``constructs_substrate.cluster``) as shipped."""
    return package_files(package).joinpath(name).read_text(encoding="utf-8")
