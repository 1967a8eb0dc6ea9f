"""``render_bootstrap``: a node's whole cloud-init user data from its config."""

from __future__ import annotations

from typing import Sequence

from .. import layout
from ..config import NodeConfig
from ..errors import ConfigError
from ..roles import NodeRole
from . import paths
from .cloud_config import render_cloud_config
from .env import bootstrap_env
from .model import USER_DATA_LIMIT, Bootstrap, BootstrapExtension, RenderedFile
from .node_files import node_files, probe_script
from .telemetry import telemetry_files
from .templating import render_shell, shell_assignments
from .tls import tls_files, tls_packages

BASE_PACKAGES = ("curl", "gnupg", "ca-certificates", "prometheus-node-exporter")


def _packages(config: NodeConfig, extensions: Sequence[BootstrapExtension]) -> list[str]:
    wanted = [*BASE_PACKAGES, *tls_packages(config)]
    if config.role is NodeRole.TELEMETRY:
        wanted.append("docker.io")
    for extension in extensions:
        wanted += extension.packages
    return list(dict.fromkeys(wanted))  # first occurrence wins: stable order


def _extension_files(extensions: Sequence[BootstrapExtension]) -> list[RenderedFile]:
    result = [file for extension in extensions for file in extension.files]
    commands = [command for extension in extensions for command in extension.commands]
    if commands:
        script = "#!/bin/bash\n# Steps added by BootstrapExtensions, run in order after the node started.\n"
        script += "set -euo pipefail\n" + "".join(f"{command}\n" for command in commands)
        result.append(RenderedFile(paths.EXTENSIONS_SCRIPT, script, "0755"))
    return result


def _env_file(config: NodeConfig) -> RenderedFile:
    header = "# Rendered by constructs_substrate.bootstrap; sourced by the bootstrap scripts.\n"
    return RenderedFile(layout.BOOTSTRAP_ENV_FILE, header + shell_assignments(bootstrap_env(config)))


def _gzip_group(file: RenderedFile) -> int:
    """Files of a kind side by side in the user data: a cluster instance's is over
    60 KB before gzip, twice gzip's 32 KiB window, and the units' shared sandbox lines
    and the scripts' shared idioms compress only when they are near each other.
    Configuration first, then shell scripts, systemd units, and Python last (the
    probe, the largest file). The sort is stable: order within a kind is kept."""
    path = file.path
    if path.startswith(paths.UNIT_DIR):
        return 2
    if path.endswith(".py"):
        return 3
    if path.startswith(layout.SCRIPTS_DIR):
        return 1
    return 0


def render_bootstrap(
    config: NodeConfig, extensions: Sequence[BootstrapExtension] = ()
) -> Bootstrap:
    """The cloud-init user data that turns a fresh Ubuntu 24.04 instance into the
    node ``config`` describes (see docs/bootstrap.md). Pure and byte-deterministic.

    Raises :class:`ConfigError` when the gzipped user data exceeds EC2's 16 KiB, or
    when an extension writes a path the bootstrap (or another extension) writes.
    """
    env_file = layout.BOOTSTRAP_ENV_FILE
    files = [
        _env_file(config),
        RenderedFile(paths.BOOTSTRAP_SCRIPT, render_shell("bootstrap.sh", env_file=env_file), "0755"),
        RenderedFile(paths.PREPARE_VOLUME_SCRIPT, render_shell("prepare-data-volume.sh", env_file=env_file), "0755"),
        # Read by the Ubuntu package's unit as $ARGS.
        RenderedFile(
            paths.NODE_EXPORTER_DEFAULTS,
            f'ARGS="--web.listen-address=:{config.effective_ports.node_exporter}"\n',
        ),
        *node_files(config, env_file),
        *telemetry_files(config),
        *tls_files(config, env_file),
        *_extension_files(extensions),
        *probe_script(config),
    ]
    seen: set[str] = set()
    for file in files:
        if file.path in seen:
            raise ConfigError.of("extensions", f"{file.path} is written twice; give the extension's file another path")
        seen.add(file.path)

    files.sort(key=_gzip_group)
    cloud_config = render_cloud_config(
        packages=_packages(config, extensions),
        user=layout.SERVICE_USER,
        files=files,
        runcmd=(paths.BOOTSTRAP_SCRIPT, env_file),
    )
    bootstrap = Bootstrap(cloud_config=cloud_config, files=tuple(files))
    size = bootstrap.gzip_size()
    if size > USER_DATA_LIMIT:
        raise ConfigError.of(
            "extensions" if extensions else "bootstrap",
            f"the gzipped user data is {size} bytes; EC2 accepts at most {USER_DATA_LIMIT}. "
            "Move large files out of the user data (e.g. download them in an extension command)",
        )
    return bootstrap
