"""The telemetry role: substrate-telemetry's core, shard and frontend as three
systemd units running pinned docker images, published on loopback for nginx."""

from __future__ import annotations

from .. import ports
from ..config import NodeConfig
from ..roles import NodeRole
from . import paths
from .model import RenderedFile
from .templating import render_unit

CORE, SHARD, FRONTEND = "telemetry-core", "telemetry-shard", "telemetry-frontend"
TELEMETRY_UNITS = tuple(f"substrate-{name}.service" for name in (CORE, SHARD, FRONTEND))
"""Started in this order by ``bootstrap.sh``."""

FRONTEND_CONTAINER_PORT = 8000
"""The frontend image's nginx listens on 8000 inside the container."""
# The frontend image writes its runtime config and nginx state at start: give it
# tmpfs there instead of a writable root.
_FRONTEND_TMPFS = ("/app/tmp", "/var/cache/nginx", "/run", "/tmp")


def _unit(name: str, *, image: str, port: int, container_port: int,
          command: str = "", docker_args: str = "", after: str = "") -> RenderedFile:
    return RenderedFile(
        paths.unit(f"substrate-{name}.service"),
        render_unit(
            "telemetry.service",
            component=name.removeprefix("telemetry-"),
            name=name,
            network=paths.TELEMETRY_NETWORK,
            port=port,
            container_port=container_port,
            image=image,
            command=command,
            docker_args=docker_args,
            after=after,
        ),
    )


def telemetry_files(config: NodeConfig) -> list[RenderedFile]:
    if config.role is not NodeRole.TELEMETRY:
        return []
    server, tls = config.telemetry_server, config.tls
    assert server is not None and tls is not None  # NodeConfig refuses the role without them
    core_port, shard_port = ports.TELEMETRY_CORE, ports.TELEMETRY_SHARD
    core_unit = TELEMETRY_UNITS[0]
    return [
        _unit(CORE, image=server.backend_image, port=core_port, container_port=core_port,
              command=f" telemetry_core --listen 0.0.0.0:{core_port}"),
        _unit(SHARD, image=server.backend_image, port=shard_port, container_port=shard_port,
              command=f" telemetry_shard --listen 0.0.0.0:{shard_port} "
                      f"--core http://{CORE}:{core_port}/shard_submit",
              after=f" {core_unit}"),
        _unit(FRONTEND, image=server.frontend_image, port=ports.TELEMETRY_FRONTEND,
              container_port=FRONTEND_CONTAINER_PORT,
              # Browsers fetch the feed from the public TLS endpoint, not from loopback.
              docker_args=f"--env SUBSTRATE_TELEMETRY_URL=wss://{tls.domain}/feed "
                          + "".join(f"--tmpfs {path} " for path in _FRONTEND_TMPFS),
              after=f" {core_unit}"),
    ]
