"""Shared test data for the observability tests (imported by name)."""

from __future__ import annotations

import shutil

from integration.conftest import unavailable

from constructs_substrate.config import NodeConfig, TelemetryServerConfig, TlsConfig

TELEMETRY_IMAGES = TelemetryServerConfig(
    backend_image="docker.io/parity/substrate-telemetry-backend:v1@sha256:" + "a" * 64,
    frontend_image="docker.io/parity/substrate-telemetry-frontend:v1@sha256:" + "b" * 64,
)

NODES = {
    "validator": lambda: NodeConfig(role="validator", name="val-1"),
    "rpc": lambda: NodeConfig(role="rpc", name="rpc-1"),
    "archive": lambda: NodeConfig(role="archive", name="archive-1"),
    "bootnode": lambda: NodeConfig(role="bootnode", name="boot-1"),
    "parachain-rpc": lambda: NodeConfig(role="rpc", name="ah-rpc-1", chain="asset-hub-polkadot"),
    "telemetry": lambda: NodeConfig(
        role="telemetry", name="telemetry-1", telemetry_server=TELEMETRY_IMAGES,
        tls=TlsConfig(domain="telemetry.example.com", email="ops@example.com"),
    ),
    "parachain-rpc-tls-dns01": lambda: NodeConfig(
        role="rpc", name="ah-rpc-tls-1", chain="asset-hub-polkadot",
        tls=TlsConfig(domain="rpc.example.com", email="ops@example.com", challenge="dns-01", hosted_zone_id="Z0123456789"),
    ),
}

AMP_URL = "https://aps-workspaces.eu-central-1.amazonaws.com/workspaces/ws-0123abcd-4567-89ef-0123-456789abcdef/api/v1/remote_write"
INSTANCE_ID = "i-0123456789abcdef0"


def require(tool: str) -> str:
    """Path of ``tool``; skips locally / fails in CI when it is missing."""
    path = shutil.which(tool)
    if path is None:
        unavailable(f"{tool} is not installed (scripts/setup.sh installs it)")
    return path
