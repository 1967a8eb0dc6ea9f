"""Fixtures of the observability tests: the Chopsticks
node of the integration tests (a real Substrate JSON-RPC server, started once per
session from ``tests/integration/conftest.py``'s ``start_chopsticks``)."""

from __future__ import annotations

import pytest

from integration.conftest import start_chopsticks


@pytest.fixture(scope="session")
def chopsticks(tmp_path_factory):
    instance = start_chopsticks(tmp_path_factory.mktemp("chopsticks-observability") / "chopsticks.log")
    try:
        yield instance
    finally:
        instance.terminate()
