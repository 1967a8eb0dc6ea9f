"""Every port number the library uses, in one place.

Node ports follow polkadot-sdk's defaults (JSON-RPC over HTTP and WebSocket share one
port since polkadot v0.9.43; 9933 and ``--ws-port`` are gone).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from ._model import Model
from .errors import ConfigError

P2P = 30333
"""libp2p; TCP for peers, plus WebSocket p2p, and UDP for WebRTC with litep2p."""
RELAY_P2P = 30334
"""The embedded relay-chain node of a parachain collator/RPC node."""
RPC = 9944
"""JSON-RPC over HTTP and WebSocket, with ``/health`` and ``/health/readiness``."""
PROMETHEUS = 9615
"""The node's own Prometheus metrics."""
RELAY_PROMETHEUS = 9616
"""Metrics of the embedded relay-chain node."""
NODE_EXPORTER = 9100
"""Host metrics (Prometheus node_exporter convention)."""
PROBE = 9955
"""The readiness probe a load balancer health-checks (see ``docs/probe.md``)."""
PROBE_RPC = 9956
"""A second JSON-RPC listener of rpc/archive nodes, on 127.0.0.1 only, that the probe
asks (``--experimental-rpc-endpoint``): public clients filling the public listener's
``max-connections`` cannot lock the probe out. Never in a security group. Not 9945:
that is the default RPC port of a parachain node's embedded relay chain (cumulus
``RelayChainCli::rpc_listen_port``), which would then fail to bind."""
EMBEDDED_RELAY_RPC = 9945
"""Where a parachain node's embedded relay chain serves JSON-RPC (localhost; cumulus's
default). Not configurable here, so no other port may take it."""
HTTP = 80
HTTPS = 443
TELEMETRY_CORE = 8000
"""substrate-telemetry core: feed for browsers, shard submissions."""
TELEMETRY_SHARD = 8001
"""substrate-telemetry shard: where nodes ``--telemetry-url`` submit."""
TELEMETRY_FRONTEND = 3000
"""substrate-telemetry frontend (static site), served by nginx on 443."""


class NodePorts(Model):
    """The ports one node listens on. Defaults are polkadot-sdk's."""

    p2p: int = Field(default=P2P, ge=1024, le=65535)
    """p2p listen port, opened to the internet (TCP and UDP). Default: 30333."""
    rpc: int = Field(default=RPC, ge=1024, le=65535)
    """JSON-RPC (HTTP + WebSocket). Never opened to the internet. Default: 9944."""
    prometheus: int = Field(default=PROMETHEUS, ge=1024, le=65535)
    """Node metrics, reachable only from the monitoring source. Default: 9615."""
    node_exporter: int = Field(default=NODE_EXPORTER, ge=1024, le=65535)
    """Host metrics, reachable only from the monitoring source. Default: 9100."""
    relay_p2p: int = Field(default=RELAY_P2P, ge=1024, le=65535)
    """p2p port of a parachain node's embedded relay chain. Default: 30334."""
    relay_prometheus: int = Field(default=RELAY_PROMETHEUS, ge=1024, le=65535)
    """Metrics port of a parachain node's embedded relay chain. Default: 9616."""
    probe: int = Field(default=PROBE, ge=1024, le=65535)
    """Readiness probe port (load-balanced nodes). Default: 9955."""
    probe_rpc: int = Field(default=PROBE_RPC, ge=1024, le=65535)
    """The node's localhost-only JSON-RPC listener for the probe (rpc and archive
    roles), beside the public one on ``rpc``. Never opened in a security group.
    Must not be 9945 on parachain nodes with an embedded relay chain (its RPC port).
    Default: 9956."""

    @model_validator(mode="after")
    def _no_clash(self) -> "NodePorts":
        seen: dict[int, str] = {}
        for name, port in self.model_dump().items():
            if port in seen:
                raise ConfigError.of(
                    name, f"port {port} is already used by '{seen[port]}'; give each a distinct port"
                )
            if port in (HTTP, HTTPS, TELEMETRY_CORE, TELEMETRY_SHARD, TELEMETRY_FRONTEND):
                raise ConfigError.of(name, f"port {port} is reserved for nginx/telemetry; pick another")
            if port == EMBEDDED_RELAY_RPC:
                raise ConfigError.of(
                    name, f"port {port} is the embedded relay chain's RPC port on parachain nodes; pick another"
                )
            seen[port] = name
        return self
