"""Stacks synthesized once per test session: importing the AWS bindings costs seconds
per process, synthesizing is fast. What they contain: ``cluster_stacks.py``."""

from __future__ import annotations

import pytest
from cluster_stacks import synth_all


@pytest.fixture(scope="session")
def stacks() -> dict[str, dict]:
    return synth_all()
