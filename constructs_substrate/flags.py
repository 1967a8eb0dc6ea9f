"""The node's command-line flags, built as a list from a :class:`NodeConfig`.

Each rule here is one line of the brief (section 2): RPC methods explicit (``safe``
wherever RPC listens beyond localhost), no Host-header filter so load-balanced
requests pass, archive pruning flags, static node keys for validators and bootnodes.
Load-balanced roles (rpc, archive) get two RPC listeners (``--experimental-rpc-endpoint``):
the public one and a localhost-only one for the readiness probe (brief section 8).
"""

from __future__ import annotations

from . import layout
from .config import NodeConfig
from .roles import DEFAULT_STATE_PRUNING, NodeRole

RPC_ENDPOINT_FLAG = "--experimental-rpc-endpoint"
PROBE_RPC_MAX_CONNECTIONS = 16
"""Connections the probe's own listener accepts: the probe makes one at a time (one
HTTP request per call, five calls per poll); the rest is room for an operator's curl
over SSM while clients saturate the public listener."""


def chain_arg(config: NodeConfig) -> str:
    return layout.CHAIN_SPEC_FILE if config.chain.chain_spec else config.chain.chain_id


def rpc_endpoint(listen: str, **options: object) -> str:
    """One ``--experimental-rpc-endpoint`` value: ``listen-addr=IP:PORT,key=value,...``
    (sc-cli ``RpcEndpoint::from_str``; booleans as ``true``/``false``)."""
    parts = [f"listen-addr={listen}"]
    for key, value in options.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        parts.append(f"{key.replace('_', '-')}={text}")
    return ",".join(parts)


def public_rpc_endpoint(config: NodeConfig) -> str:
    """The public listener (all interfaces, behind the load balancer or nginx): the
    semantics of ``--unsafe-rpc-external --rpc-methods safe --rpc-cors all`` plus the
    limits of ``config.rpc``. No ``cors`` key on purpose: any ``cors=`` value turns on
    the node's Host-header filter (only localhost names pass), which would refuse every
    request the load balancer forwards; without it CORS is permissive, as with ``all``."""
    rpc = config.rpc
    options: dict[str, object] = dict(
        methods="safe",
        max_connections=config.rpc_max_connections,
        max_batch_request_len=rpc.max_batch_request_len,
        max_subscriptions_per_connection=config.rpc_max_subscriptions_per_connection,
    )
    if rpc.rate_limit_per_minute is not None:
        options["rate_limit"] = rpc.rate_limit_per_minute
        if rpc.trust_proxy_headers:
            options["rate_limit_trust_proxy_headers"] = True
    return rpc_endpoint(f"0.0.0.0:{config.effective_ports.rpc}", **options)


def probe_rpc_endpoint(config: NodeConfig) -> str:
    """The probe's listener: 127.0.0.1 only, safe methods (the default ``auto`` would
    expose unsafe ones on loopback), its own connection limit and never a rate limit
    (each endpoint has its own ``rate-limit`` key; absent means none): a delayed probe
    call would turn a busy node "not ready"."""
    return rpc_endpoint(
        f"127.0.0.1:{config.effective_ports.probe_rpc}",
        methods="safe",
        max_connections=PROBE_RPC_MAX_CONNECTIONS,
    )


def _rpc_flags(config: NodeConfig) -> list[str]:
    ports = config.effective_ports
    if config.profile.rpc_external:
        # Two listeners, each with its own connection limit (one jsonrpsee
        # ConnectionGuard per endpoint): clients saturating the public one cannot lock
        # the probe out. --experimental-rpc-endpoint replaces --rpc-port,
        # --unsafe-rpc-external, --rpc-cors and --rpc-rate-limit* (clap refuses them
        # together) and makes --rpc-methods / --rpc-max-connections /
        # --rpc-max-batch-request-len irrelevant, so none of them is given. See
        # docs/probe.md ("The probe's own RPC listener") for the sources.
        return [RPC_ENDPOINT_FLAG, public_rpc_endpoint(config), RPC_ENDPOINT_FLAG, probe_rpc_endpoint(config)]
    flags = ["--rpc-port", str(ports.rpc)]
    if config.role is NodeRole.VALIDATOR:
        # Localhost only; unsafe methods are needed for author_rotateKeys, which the
        # rotate-session-keys script calls on the machine (see docs/substrate-node.md).
        flags += ["--rpc-methods", "unsafe"]
    else:
        flags += ["--rpc-methods", "safe"]
    return flags


def _pruning_flags(config: NodeConfig) -> list[str]:
    """Always both: polkadot-sdk's ``--blocks-pruning`` default (``archive-canonical``)
    would keep, and after warp sync backfill, every block body since genesis."""
    return [
        "--state-pruning", str(config.effective_state_pruning),
        "--blocks-pruning", str(config.effective_blocks_pruning),
    ]


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
        "--blocks-pruning", str(DEFAULT_STATE_PRUNING),
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


def probe_args(config: NodeConfig) -> list[str]:
    """The readiness probe's arguments on an rpc/archive node (its systemd unit's
    ``ExecStart`` after the script): the node's localhost-only probe listener, the
    probe's own port, and the chain's network-lag limit. See docs/probe.md."""
    ports = config.effective_ports
    return [
        "--rpc-url", f"http://127.0.0.1:{ports.probe_rpc}",
        "--listen", f"0.0.0.0:{ports.probe}",
        "--max-network-lag", str(config.chain.network_lag_blocks),
    ]
