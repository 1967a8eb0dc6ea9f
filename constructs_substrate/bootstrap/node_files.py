"""Files of a chain node: flags, the verified install, the unit and its wrapper, the
readiness probe (load-balanced roles) and session-key rotation (validators)."""

from __future__ import annotations

from .. import layout
from ..config import NodeConfig
from ..flags import node_args, probe_args
from ..roles import NodeRole
from . import paths
from .shipped import module_source
from .env import shipped_key
from .model import RenderedFile
from .templating import render_shell, render_unit


def args_file(config: NodeConfig) -> str:
    """``flags.node_args``, one per line: ``run-node`` reads them with ``mapfile``."""
    args = node_args(config)
    if any("\n" in arg for arg in args):  # the config validators refuse these already
        raise ValueError("a node flag contains a newline")
    return "".join(f"{arg}\n" for arg in args)


def _install_root() -> str:
    """The top-level directory holding the releases and the ``current`` link (``/opt``):
    ReadWritePaths= entries must exist when the unit starts, and the releases
    directory itself is only created by the first install."""
    top = "/" + layout.RELEASES_DIR.split("/")[1]
    assert layout.CURRENT_RELEASE.startswith(top + "/"), "releases and current link must share /opt"
    return top


def node_files(config: NodeConfig, env_file: str) -> list[RenderedFile]:
    if not config.profile.runs_chain_node:
        return []
    release = config.chain.release
    result = [
        RenderedFile(layout.NODE_ARGS_FILE, args_file(config)),
        RenderedFile(paths.INSTALL_SCRIPT, render_shell("install-binaries.sh", env_file=env_file), "0755"),
        RenderedFile(paths.RUN_NODE_SCRIPT, render_shell("run-node.sh", env_file=env_file), "0755"),
        RenderedFile(paths.unit(layout.INSTALL_SERVICE), render_unit(
            "substrate-install.service",
            version=release.version,
            install_script=paths.INSTALL_SCRIPT,
            env_file=env_file,
            writable=" ".join((_install_root(), paths.BIN_DIR, layout.CONFIG_DIR)),
        )),
        RenderedFile(paths.unit(layout.NODE_SERVICE), render_unit(
            "substrate-node.service",
            chain=config.chain.name,
            install_service=layout.INSTALL_SERVICE,
            data_dir=layout.DATA_DIR,
            user=layout.SERVICE_USER,
            args_file=layout.NODE_ARGS_FILE,
            run_node=paths.RUN_NODE_SCRIPT,
            env_file=env_file,
        )),
    ]
    key = shipped_key(config)
    if key is not None:
        result.append(RenderedFile(paths.RELEASE_KEY_FILE, key.strip() + "\n"))
    if config.profile.rpc_external:
        result.append(_probe_unit(config))
    if config.role is NodeRole.VALIDATOR:
        result.append(RenderedFile(
            paths.ROTATE_KEYS_SCRIPT, render_shell("rotate-session-keys.sh", env_file=env_file), "0755"
        ))
    return result


def probe_source() -> str:
    """``constructs_substrate/probe/readiness_probe.py`` as shipped (verbatim)."""
    return module_source("constructs_substrate.probe", "readiness_probe.py")


def probe_script(config: NodeConfig) -> list[RenderedFile]:
    """The probe itself; written last, so the small files before it share gzip's
    32 KiB window (it compresses the user data noticeably better)."""
    if not (config.profile.runs_chain_node and config.profile.rpc_external):
        return []
    return [RenderedFile(paths.PROBE_SCRIPT, probe_source())]


def _probe_unit(config: NodeConfig) -> RenderedFile:
    return RenderedFile(paths.unit(layout.PROBE_SERVICE), render_unit(
        "substrate-probe.service",
        probe=paths.PROBE_SCRIPT,
        node_service=layout.NODE_SERVICE,
        probe_args=" ".join(probe_args(config)),
    ))
