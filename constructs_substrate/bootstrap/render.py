"""``render_bootstrap``: a node's whole cloud-init user data from its config."""

from __future__ import annotations

from typing import Sequence

from .. import layout
from ..config import NodeConfig
from ..errors import ConfigError
from ..roles import NodeRole
from . import paths
from .bundle import BOOT_PATHS, BUNDLE_LIMIT, DEFAULT_SOURCE, Bundle, BundleSource, boot_command, boot_files
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
    config: NodeConfig,
    extensions: Sequence[BootstrapExtension] = (),
    *,
    source: BundleSource = DEFAULT_SOURCE,
) -> Bootstrap:
    """The cloud-init user data that turns a fresh Ubuntu 24.04 instance into the
    node ``config`` describes (see docs/bootstrap.md), and the bootstrap bundle it
    fetches from ``source`` (the construct's bucket and key). Pure and byte-deterministic.

    Raises :class:`ConfigError` when the gzipped user data exceeds EC2's 16 KiB or the
    bundle :data:`~.bundle.BUNDLE_LIMIT`, or when an extension writes a path the
    bootstrap (or another extension) writes.
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
    seen: set[str] = set(BOOT_PATHS)
    for file in files:
        if file.path in seen:
            raise ConfigError.of("extensions", f"{file.path} is written twice; give the extension's file another path")
        seen.add(file.path)

    files.sort(key=_gzip_group)
    field = "extensions" if extensions else "bootstrap"
    bundle = Bundle.of(files)
    if bundle.size > BUNDLE_LIMIT:
        raise ConfigError.of(
            field,
            f"the gzipped bootstrap bundle is {bundle.size} bytes; at most {BUNDLE_LIMIT} are allowed "
            "(it is kept in Terraform's state). Download bulk data in an extension command instead",
        )
    on_failure = [extension.on_boot_failure for extension in extensions if extension.on_boot_failure]
    boot = boot_files(source, bundle, on_failure)
    cloud_config = render_cloud_config(
        packages=_packages(config, extensions),
        user=layout.SERVICE_USER,
        files=boot,
        runcmd=boot_command(env_file),
    )
    bootstrap = Bootstrap(cloud_config=cloud_config, files=(*boot, *files), bundle=bundle, source=source, boot_files=tuple(boot))
    size = bootstrap.gzip_size()
    if size > USER_DATA_LIMIT:
        raise ConfigError.of(
            field,
            f"the gzipped user data (the boot stage) is {size} bytes; EC2 accepts at most {USER_DATA_LIMIT}. "
            "Put large files in the bundle, not in the boot stage",
        )
    return bootstrap
