"""Fixtures: every configuration rendered once per session."""

from __future__ import annotations

import pytest

from bootstrap_support import CONFIGS
from constructs_substrate.bootstrap import Bootstrap, render_bootstrap
from constructs_substrate.config import NodeConfig


@pytest.fixture(scope="session")
def rendered() -> dict[str, Bootstrap]:
    return {name: render_bootstrap(build()) for name, build in CONFIGS.items()}


@pytest.fixture(params=sorted(CONFIGS))
def case(request, rendered) -> tuple[str, NodeConfig, Bootstrap]:
    return request.param, CONFIGS[request.param](), rendered[request.param]


