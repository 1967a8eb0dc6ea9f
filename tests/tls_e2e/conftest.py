"""Fixtures for the loopback ACME test: the tools it runs and a real JSON-RPC backend.

Missing tools skip the tests locally but fail them when ``CI`` is set (CI must run them),
as in ``tests/integration``.
"""

from __future__ import annotations

import os
import shutil

import pytest
from integration.conftest import start_chopsticks, unavailable

TOOLS = ("pebble", "pebble-challtestsrv", "nginx", "certbot", "openssl")
# nginx lives in /usr/sbin, which a non-root PATH may lack.
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


@pytest.fixture(scope="module")
def tools() -> dict[str, str]:
    found = {tool: shutil.which(tool, path=_SEARCH_PATH) for tool in TOOLS}
    missing = sorted(tool for tool, where in found.items() if where is None)
    if missing:
        unavailable(
            f"{', '.join(missing)} not installed: the loopback ACME test needs "
            "`apt-get install nginx certbot pebble openssl` (scripts/setup.sh does it)"
        )
    return found  # type: ignore[return-value]


@pytest.fixture(scope="module")
def chopsticks(tmp_path_factory):
    """A real Substrate JSON-RPC server (HTTP and WebSocket on one port) behind our nginx."""
    instance = start_chopsticks(tmp_path_factory.mktemp("chopsticks") / "chopsticks.log")
    try:
        yield instance
    finally:
        instance.terminate()
