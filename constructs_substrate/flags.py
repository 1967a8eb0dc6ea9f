"""The node's command-line flags, built as a list from a :class:`NodeConfig`.

Each rule here is one line of the brief (section 2): RPC on one port, ``--rpc-methods``
explicit, ``--rpc-cors all`` so load-balancer health checks by IP pass the Host
filter, archive pruning flags, static node keys for validators and bootnodes.
"""

from __future__ import annotations

from . import layout
from .config import NodeConfig
from .roles import NodeRole

DEFAULT_STATE_PRUNING = 1000


def chain_arg(config: NodeConfig) -> str:
    return layout.CHAIN_SPEC_FILE if config.chain.chain_spec else config.chain.chain_id


def _rpc_flags(config: NodeConfig) -> list[str]:
    ports = config.effective_ports
    flags = ["--rpc-port", str(ports.rpc)]
    if config.profile.rpc_external:
        rpc = config.rpc
        flags += [
            "--unsafe-rpc-external",
            "--rpc-methods", "safe",
            "--rpc-cors", "all",
            "--rpc-max-connections", str(config.rpc_max_connections),
            "--rpc-max-batch-request-len", str(rpc.max_batch_request_len),
            "--rpc-max-subscriptions-per-connection", str(rpc.max_subscriptions_per_connection),
        ]
        if rpc.rate_limit_per_minute is not None:
            flags += ["--rpc-rate-limit", str(rpc.rate_limit_per_minute)]
            if rpc.trust_proxy_headers:
                flags.append("--rpc-rate-limit-trust-proxy-headers")
    elif config.role is NodeRole.VALIDATOR:
        # Localhost only; unsafe methods are needed for author_rotateKeys, which the
        # rotate-session-keys script calls on the machine (see docs/substrate-node.md).
        flags += ["--rpc-methods", "unsafe"]
    else:
        flags += ["--rpc-methods", "safe"]
    return flags


def _pruning_flags(config: NodeConfig) -> list[str]:
    if config.profile.archive:
        return ["--state-pruning", "archive", "--blocks-pruning", "archive"]
    return ["--state-pruning", str(config.state_pruning or DEFAULT_STATE_PRUNING)]


def _relay_flags(config: NodeConfig) -> list[str]:
    """A parachain node either follows relay RPC endpoints or embeds a relay node."""
    if not config.chain.is_parachain:
        return []
    if config.relay_chain_rpc_urls:
        return ["--relay-chain-rpc-urls", *config.relay_chain_rpc_urls]
    ports = config.effective_ports
    return [
        "--",
        "--chain", config.chain.relay_chain or "",
        "--port", str(ports.relay_p2p),
        "--prometheus-port", str(ports.relay_prometheus),
        "--prometheus-external",
        "--sync", "warp",
        "--state-pruning", str(DEFAULT_STATE_PRUNING),
        "--no-telemetry",
    ]


def node_args(config: NodeConfig) -> list[str]:
    """Flags after the binary, except ``--public-addr`` (the Elastic IP is read at start)."""
    if not config.profile.runs_chain_node:
        return []
    ports = config.effective_ports
    args = [
        "--chain", chain_arg(config),
        "--name", config.name,
        "--base-path", layout.DATA_DIR,
        "--port", str(ports.p2p),
        "--prometheus-port", str(ports.prometheus),
        "--prometheus-external",
        "--database", config.database,
    ]
    if config.role is NodeRole.VALIDATOR:
        args.append("--validator")
    if config.profile.static_node_key:
        args += ["--node-key-file", layout.NODE_KEY_FILE]
    if config.effective_sync:
        args += ["--sync", config.effective_sync]
    args += _pruning_flags(config)
    args += _rpc_flags(config)
    if config.chain.binary == "polkadot":
        args += ["--workers-path", layout.CURRENT_RELEASE]
    if config.telemetry_url:
        args += ["--telemetry-url", f"{config.telemetry_url} {config.telemetry_verbosity}"]
    else:
        args.append("--no-telemetry")
    if config.bootnodes:
        args += ["--bootnodes", *config.bootnodes]
    if config.in_peers is not None:
        args += ["--in-peers", str(config.in_peers)]
    if config.out_peers is not None:
        args += ["--out-peers", str(config.out_peers)]
    args += list(config.extra_args)
    # Relay-chain flags come last: everything after "--" belongs to the embedded relay.
    return args + _relay_flags(config)


def announces_public_addr(config: NodeConfig) -> bool:
    """Validators and bootnodes announce their Elastic IP (``--public-addr``)."""
    return config.profile.static_node_key and config.use_elastic_ip
