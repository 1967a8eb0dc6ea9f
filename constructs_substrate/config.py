"""Typed configuration of one node (:class:`NodeConfig`) and its parts.

Every field documents its default. Values a field leaves as ``None`` are filled from
the role profile (``roles.PROFILES``) or the chain catalog (``chains.CATALOG``);
the resolved values are read through the ``effective_*`` properties, never stored
twice. All checks run when the model is built, so a bad configuration fails before
any Terraform is written.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ._model import Model, is_deploy_time
from .chains import CATALOG, Chain, get_chain
from .domains import check_domain, check_email
from .errors import ConfigError, Problem
from .instance_types import UnknownInstanceType, describe
from .ports import NodePorts
from .roles import ARCHIVE, DEFAULT_STATE_PRUNING, PROFILES, NodeRole, RoleProfile

_NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,62}$")
"""What sc-cli's ``is_node_name_valid`` accepts, narrowed: fewer than 64 characters
(``NODE_NAME_MAX_LENGTH``), no ``.``, ``@`` or ``\\`` (the node refuses to start)."""
_OWNED_FLAGS = (
    "--chain", "--name", "--base-path", "--validator", "--rpc-methods", "--rpc-external",
    "--unsafe-rpc-external", "--rpc-port", "--rpc-cors", "--port", "--node-key",
    "--node-key-file", "--prometheus-port", "--prometheus-external", "--public-addr",
    "--telemetry-url", "--no-telemetry", "--sync", "--state-pruning", "--blocks-pruning",
    "--database", "--rpc-max-connections", "--rpc-max-batch-request-len", "--rpc-rate-limit",
    "--relay-chain-rpc-urls", "--bootnodes", "--in-peers", "--out-peers", "--pruning",
    # rpc/archive nodes listen through --experimental-rpc-endpoint, which the node refuses
    # beside any of these (docs/probe.md); the limits live in NodeConfig.rpc.
    "--experimental-rpc-endpoint", "--rpc-max-subscriptions-per-connection",
    "--rpc-rate-limit-trust-proxy-headers", "--rpc-rate-limit-whitelisted-ips",
    "--rpc-max-request-size", "--rpc-max-response-size",
    "--rpc-message-buffer-capacity-per-connection", "--rpc-disable-batch-requests",
)
# Flags that would put keys or secrets on the node's command line (and so in Terraform
# state), hand key custody elsewhere, throw the database away, or bypass NodePorts.
_REFUSED_FLAGS = {
    **{f"--{name}": "inserts a well-known development key" for name in ("alice", "bob", "charlie", "dave", "eve", "ferdie", "one", "two")},
    "--dev": "runs a development chain with development keys",
    "--tmp": "keeps the database in a temporary directory, lost on restart",
    "--force-authoring": "authors blocks without peers (a validator fork risk)",
    "--password": "puts a keystore password in the user data, so in Terraform state",
    "--password-filename": "keystore passwords are not supported; keys are created on the machine",
    "--password-interactive": "there is no terminal on the node",
    "--keystore-uri": "hands session keys to a remote keystore",
    "--keystore-path": "the keystore belongs on the retained data volume",
    "--listen-addr": "overrides the p2p listen address; use NodeConfig.ports",
    "--rpc-addr": "overrides the RPC listen address; the role decides it",
    "--unsafe-force-node-key-generation": "a fresh key changes the validator's peer id; the bootstrap generates it once",
}
_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,32}$")
_SG_ID = re.compile(r"^sg-[0-9a-f]{8,17}$")
_KMS_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key/[0-9a-f-]{36}|alias/[A-Za-z0-9/_-]+)$")
_DIGEST_IMAGE = re.compile(r"^[a-z0-9./_-]+(:[A-Za-z0-9._-]+)?@sha256:[0-9a-fA-F]{64}$")
_AMI = re.compile(r"^ami-[0-9a-f]{8,17}$")


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError:
        raise ValueError(f"{value!r} is not a CIDR block like '10.0.0.0/16'") from None


_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")


def _private_cidrs(value: tuple[str, ...], what: str) -> tuple[str, ...]:
    """Only private networks (RFC 1918, RFC 6598 shared space, IPv6 ULA) may reach
    RPC or metrics directly: the internet goes through TLS endpoints."""
    cidrs = tuple(_cidr(c) for c in value)
    repeated = sorted({c for c in cidrs if cidrs.count(c) > 1})
    if repeated:
        raise ValueError(f"{', '.join(repeated)} is listed more than once; list each CIDR once")
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr)
        shared = network.version == 4 and network.subnet_of(_SHARED_ADDRESS_SPACE)
        if not (network.is_private or shared) or network.prefixlen == 0:
            raise ValueError(
                f"{cidr} is not a private network; {what} is never opened to the internet "
                "(give VPC or peered CIDRs such as 10.0.0.0/16; for a public endpoint set "
                "NodeConfig.tls or use AutoscalingApiCluster)"
            )
    return cidrs


def _matching(pattern: re.Pattern, example: str):
    def check(cls, value: str | None) -> str | None:
        if value is not None and not is_deploy_time(value) and not pattern.match(value):
            raise ValueError(f"{value!r} is not valid; expected something like {example!r}")
        return value

    return check


def _db_size(chain: Chain, *, archive: bool, keeps_bodies: bool) -> int:
    """The typical database of ``chain`` (GiB): archive, pruned state with every body,
    or pruned state and bodies (``DbSizes``)."""
    sizes = chain.db_size_gib
    if archive:
        return sizes.archive
    return sizes.pruned if keeps_bodies else sizes.blocks_pruned or sizes.pruned


class DataVolumeConfig(Model):
    """The separate encrypted gp3 EBS volume that holds the chain database at ``/data``."""

    size_gib: int | None = Field(default=None, ge=8, le=65536)
    """Size in GiB. Default: 1.5 x the chain's typical database size for the role and
    its ``blocks_pruning`` (``DbSizes``: archive; bodies kept; or state and bodies
    pruned, the default), plus the relay chain for a parachain node with an embedded
    relay. EBS volumes cannot shrink: for a node created with a larger default (before
    bodies were pruned), pin ``size_gib`` to its current size."""
    iops: int = Field(default=6000, ge=3000, le=80000)
    """Provisioned gp3 IOPS. Default: 6000 (RocksDB compaction is IOPS-bound)."""
    throughput_mibps: int = Field(default=500, ge=125, le=2000)
    """Provisioned gp3 throughput in MiB/s. Default: 500."""
    retain: bool | None = None
    """Refuse to destroy the volume (Terraform ``prevent_destroy``). Default: true for
    validators (their keystore; ``False`` is refused for them) and archive nodes (weeks
    to resync), false otherwise."""
    kms_key_arn: str | None = None
    """Customer-managed KMS key for encryption. Default: the account's ``aws/ebs`` key.
    Volumes are encrypted either way."""
    snapshot_id: str | None = Field(default=None, pattern=r"^snap-[0-9a-f]{8,17}$", examples=["snap-0123456789abcdef0"])
    """Create the volume from this EBS snapshot (a recent chain database). Default: empty."""

    _kms = field_validator("kms_key_arn")(
        _matching(_KMS_ARN, "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    )

    @model_validator(mode="after")
    def _gp3_ratio(self) -> "DataVolumeConfig":
        if self.throughput_mibps * 4 > self.iops:
            raise ConfigError.of(
                "throughput_mibps",
                f"gp3 allows at most 0.25 MiB/s per provisioned IOPS: {self.throughput_mibps} "
                f"MiB/s needs iops >= {self.throughput_mibps * 4}",
            )
        if self.size_gib is not None and self.iops > 500 * self.size_gib:
            raise ConfigError.of(
                "iops", f"gp3 allows at most 500 IOPS per GiB: raise size_gib or lower iops"
            )
        return self


RPC_CONNECTIONS_PER_VCPU = 250
"""Default ``max-connections`` of the public listener per vCPU (at least
``RPC_MIN_CONNECTIONS``)."""
RPC_MIN_CONNECTIONS = 100
"""polkadot-sdk's own ``--rpc-max-connections`` default (sc-cli ``RPC_DEFAULT_MAX_CONNECTIONS``)."""
RPC_SUBSCRIPTIONS_PER_GIB = 8192
"""Subscriptions the whole public listener may hold per GiB of the instance type's
memory (a budget of about a quarter of the memory at ~32 KiB per subscription, not a
measurement): divided by ``max-connections`` for the per-connection limit."""
RPC_SUBSCRIPTIONS_RANGE = (32, 1024)
"""Bounds of the derived per-connection subscription limit; 1024 is polkadot-sdk's own
default (``RPC_DEFAULT_MAX_SUBS_PER_CONN``), 32 leaves a wallet (polkadot.js apps holds
a few dozen) room on the smallest type."""
RPC_RATE_LIMIT_PER_MINUTE = 1200
"""Default ``rate-limit`` of the public listener: calls per minute per connection."""


class RpcConfig(Model):
    """JSON-RPC server limits and who may reach the RPC port directly."""

    max_connections: int | None = Field(default=None, ge=1, le=100000)
    """``max-connections`` of the public RPC listener (rpc/archive nodes render it in
    ``--experimental-rpc-endpoint``; the probe's listener has its own). Default: 250 per
    vCPU of the instance type, at least 100 (the node's own default, too low for a public
    endpoint: clients get 429); m7i.2xlarge: 2000."""
    max_batch_request_len: int = Field(default=64, ge=1, le=10000)
    """``max-batch-request-len`` of the public listener. Default: 64 calls per batch."""
    max_subscriptions_per_connection: int | None = Field(default=None, ge=1, le=100000)
    """``max-subscriptions-per-connection`` of the public listener. Default: 8192
    subscriptions per GiB of the instance type shared by ``max_connections``, within
    32..1024 (m7i.2xlarge: 32 GiB / 2000 connections = 131); the node's own default,
    1024 on every connection, lets the connections hold more subscriptions than memory."""
    rate_limit_per_minute: int | None = Field(default=RPC_RATE_LIMIT_PER_MINUTE, ge=1)
    """``rate-limit`` of the public listener: calls per minute per connection, a burst of
    as many, then one call per 60/N s; a call over it waits (up to 10 retries) and then
    fails with JSON-RPC error -32999. The node builds the limiter per WebSocket
    connection and per HTTP request, so it bounds each WebSocket client (behind a load
    balancer, one client connection is one node connection) and the calls in one HTTP
    batch; per-IP limits are the load balancer's WAF. Never on the probe's listener.
    Default: 1200 (20 calls/s sustained). ``None``: no limit."""
    trust_proxy_headers: bool = False
    """``rate-limit-trust-proxy-headers``: the node checks the first ``Forwarded`` /
    ``X-Forwarded-For`` / ``X-Real-IP`` address instead of the peer's against its rate
    limit whitelist. It does not key the limit by client (the limit is per connection),
    and no whitelist is set, so it changes nothing today; the first address is the
    client's own claim behind a proxy that appends (our nginx, an ALB). Default: false."""
    ingress_cidrs: tuple[str, ...] = ()
    """Private networks allowed to reach the RPC port directly (e.g. an internal load
    balancer's subnets). Never the internet: use ``tls`` or an AutoscalingApiCluster.
    Default: none."""

    _cidrs = field_validator("ingress_cidrs")(lambda cls, v: _private_cidrs(v, "RPC"))

    @model_validator(mode="after")
    def _checks(self) -> "RpcConfig":
        if self.trust_proxy_headers and self.rate_limit_per_minute is None:
            raise ConfigError.of(
                "trust_proxy_headers", "only applies with rate_limit_per_minute set; set both"
            )
        return self


class MonitoringAccess(Model):
    """Who may scrape the node's metrics (node, node_exporter, probe) over the network.
    Default: nobody; the on-host agent reads them on localhost."""

    security_group_id: str | None = None
    """A monitoring server's security group (e.g. a Prometheus instance). Default: none."""
    cidrs: tuple[str, ...] = ()
    """Private CIDR blocks of scrapers. Default: none."""

    _cidrs = field_validator("cidrs")(lambda cls, v: _private_cidrs(v, "metrics"))
    _sg = field_validator("security_group_id")(_matching(_SG_ID, "sg-0123456789abcdef0"))


class DnsConfig(Model):
    """A Route53 A record pointing at the node's Elastic IP (``dns`` implies one)."""

    zone_id: str
    """Route53 hosted zone id."""
    name: str
    """Fully qualified record name, e.g. ``val-1.polkadot.example.com``."""
    ttl: int = Field(default=300, ge=30, le=86400)
    """Record TTL in seconds. Default: 300."""

    _name = field_validator("name")(lambda cls, v: check_domain(v))
    _zone = field_validator("zone_id")(_matching(_ZONE_ID, "Z0123456789ABCDEFGHIJ"))


class TlsConfig(Model):
    """nginx with a Let's Encrypt certificate in front of the node's service (RPC on an
    rpc/archive node, the UI and shard endpoint on a telemetry node). Renewed by
    certbot's systemd timer."""

    domain: str
    """Name on the certificate; must resolve to the node (see ``NodeConfig.dns``)."""
    email: str
    """ACME account e-mail for expiry notices."""
    challenge: Literal["http-01", "dns-01"] = "http-01"
    """How Let's Encrypt checks control: ``http-01`` opens port 80 to the internet;
    ``dns-01`` writes a TXT record in ``hosted_zone_id`` with a role scoped to it.
    Default: ``http-01``."""
    hosted_zone_id: str | None = None
    """Zone for ``dns-01``. Default: ``NodeConfig.dns.zone_id``."""
    acme_server: str = "https://acme-v02.api.letsencrypt.org/directory"
    """ACME directory. Default: Let's Encrypt production (use the staging URL to test)."""

    _domain = field_validator("domain")(lambda cls, v: check_domain(v))

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return check_email(value)

    @field_validator("acme_server")
    @classmethod
    def _acme(cls, value: str) -> str:
        if not re.match(r"^https://[A-Za-z0-9.:-]+/[^\s'\"`$\\]*$", value):
            raise ValueError(
                f"{value!r} is not an ACME directory URL: give an https:// URL, e.g. "
                "'https://acme-staging-v02.api.letsencrypt.org/directory' (Let's Encrypt staging)"
            )
        return value


class TelemetryServerConfig(Model):
    """substrate-telemetry images, pinned by digest (a tag can be moved; a digest cannot)."""

    backend_image: str
    """``parity/substrate-telemetry-backend`` image reference with ``@sha256:`` digest."""
    frontend_image: str
    """``parity/substrate-telemetry-frontend`` image reference with ``@sha256:`` digest."""

    @field_validator("backend_image", "frontend_image")
    @classmethod
    def _digest(cls, value: str) -> str:
        if not _DIGEST_IMAGE.match(value):
            raise ValueError(
                f"{value!r} must be pinned by digest: give 'repository[:tag]@sha256:<64 hex digits>', e.g. "
                f"'docker.io/parity/substrate-telemetry-backend:v1@sha256:{'0123456789abcdef' * 4}' "
                "(docker buildx imagetools inspect <image> prints the digest)"
            )
        image, digest = value.rsplit("@sha256:", 1)
        return f"{image}@sha256:{digest.lower()}"


class NodeConfig(Model):
    """Everything that decides one node. Only ``role`` and ``name`` are required."""

    role: NodeRole
    """validator, rpc, archive, bootnode or telemetry (see ``roles.py``)."""
    name: str
    """``--name`` shown in telemetry, and the Name tag. 1-63 letters, digits, spaces, ``_-``
    (the node refuses ``.`` and ``@``); a cluster appends ``-<instance id>``."""
    chain: Chain = Field(default_factory=lambda: CATALOG["polkadot"])
    """A catalog name (``polkadot``, ``kusama``, ``westend``, ``paseo``,
    ``asset-hub-polkadot``...) or your own :class:`Chain`. Default: ``polkadot``."""
    instance_type: str | None = None
    """EC2 type (x86_64). Default: the role's (validator c7i.4xlarge, rpc/archive
    m7i.2xlarge, bootnode c7i.large, telemetry m7i.large)."""
    ami_id: str | None = None
    """Pinned AMI id. Default: the latest Ubuntu 24.04 LTS from Canonical's public SSM
    parameter, read at first deploy (later AMI updates do not replace the node)."""
    root_volume_gib: int = Field(default=30, ge=16, le=1024)
    """Root (OS) volume size, encrypted gp3. Default: 30."""
    data_volume: DataVolumeConfig = DataVolumeConfig()
    """The chain database volume. Default: see :class:`DataVolumeConfig`."""
    sync: Literal["full", "fast", "warp"] | None = None
    """``--sync``. Default: ``warp`` (validator, rpc, bootnode), ``full`` (archive)."""
    state_pruning: int | None = Field(default=None, ge=256)
    """Blocks of state kept (``--state-pruning N``) for non-archive roles. Default: 1000."""
    blocks_pruning: int | str | None = None
    """``--blocks-pruning``: block bodies (and justifications) kept. A number keeps the
    last N finalized blocks, at least as many as ``state_pruning`` (a block whose state
    is kept keeps its body); ``archive-canonical`` every finalized block, ``archive``
    every block. Default: as many as ``state_pruning`` (1000), ``archive`` for archive
    nodes (which refuse anything else). polkadot-sdk's own default is
    ``archive-canonical``: after warp sync the node would backfill every body since
    genesis. The default volume size follows (see :class:`DataVolumeConfig`)."""
    database: Literal["rocksdb", "paritydb"] = "rocksdb"
    """``--database``. Default: ``rocksdb``."""
    rpc: RpcConfig = RpcConfig()
    """RPC limits and private ingress. Default: see :class:`RpcConfig`."""
    ports: NodePorts | None = None
    """Ports. Default: the chain's (polkadot-sdk defaults)."""
    telemetry_url: str | None = None
    """Telemetry endpoint (``wss://host/submit``). Default: none, ``--no-telemetry``."""
    telemetry_verbosity: int = Field(default=0, ge=0, le=9)
    """Verbosity after the telemetry URL. Default: 0 (all the telemetry UI needs)."""
    bootnodes: tuple[str, ...] = ()
    """Extra ``--bootnodes`` multiaddrs. Default: none (the chain spec's)."""
    relay_chain_rpc_urls: tuple[str, ...] = ()
    """Parachains only: relay-chain RPC endpoints (``wss://...``) used instead of an
    embedded relay node. Default: none (an embedded, pruned, warp-synced relay node)."""
    in_peers: int | None = Field(default=None, ge=0, le=10000)
    """``--in-peers``. Default: the node's (32)."""
    out_peers: int | None = Field(default=None, ge=0, le=10000)
    """``--out-peers``. Default: the node's (8)."""
    elastic_ip: bool | None = None
    """Attach an Elastic IP (validators announce it with ``--public-addr``). Default:
    true for validators, bootnodes and nodes with ``dns``, false otherwise."""
    dns: DnsConfig | None = None
    """A Route53 A record for the node's Elastic IP (``dns`` implies ``elastic_ip``).
    Default: none."""
    tls: TlsConfig | None = None
    """nginx + Let's Encrypt in front of the node (rpc, archive, telemetry). Default: none."""
    monitoring: MonitoringAccess = MonitoringAccess()
    """Who may scrape metrics over the network. Default: nobody."""
    telemetry_server: TelemetryServerConfig | None = None
    """Telemetry role: the pinned images. Required for the telemetry role."""
    extra_args: tuple[str, ...] = ()
    """More node flags (``--flag`` or ``--flag=value``), except those the library sets.
    Default: none."""

    @field_validator("chain", mode="before")
    @classmethod
    def _chain(cls, value: object) -> object:
        if isinstance(value, str):
            if value not in CATALOG:
                raise ValueError(
                    f"unknown chain {value!r}; use one of {', '.join(sorted(CATALOG))}, "
                    "or pass a constructs_substrate.Chain for your own network"
                )
            return CATALOG[value]
        return value

    @field_validator("blocks_pruning", mode="before")
    @classmethod
    def _blocks_pruning(cls, value: object) -> object:
        if value is None or value in (ARCHIVE, "archive-canonical"):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError(
            f"{value!r} is not a blocks pruning mode: give a number of blocks (e.g. 1000), "
            "'archive-canonical' or 'archive'"
        )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NODE_NAME.match(value):
            raise ValueError(
                f"{value!r} is not a node name: give 1-63 letters, digits, spaces, '_' or '-', "
                "starting with a letter or digit, e.g. 'polkadot-rpc-1' (the node refuses '.' and '@')"
            )
        return value

    @field_validator("ami_id")
    @classmethod
    def _ami(cls, value: str | None) -> str | None:
        if value is not None and not _AMI.match(value):
            raise ValueError(f"{value!r} is not an AMI id like 'ami-0123456789abcdef0'")
        return value

    @field_validator("telemetry_url")
    @classmethod
    def _telemetry_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^wss?://[A-Za-z0-9.:-]+(/[^\s'\"`$\\]*)?$", value):
            raise ValueError("must be a ws:// or wss:// URL without spaces, e.g. 'wss://telemetry.example.com/submit'")
        return value

    @field_validator("relay_chain_rpc_urls")
    @classmethod
    def _relay_urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for url in value:
            if not re.match(r"^wss?://[A-Za-z0-9.:-]+(/[^\s'\"`$\\]*)?$", url):
                raise ValueError(f"{url!r} must be a ws:// or wss:// URL without spaces, e.g. 'wss://rpc.polkadot.io'")
        return value

    @field_validator("bootnodes")
    @classmethod
    def _bootnodes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for addr in value:
            if not re.match(r"^/(ip4|ip6|dns|dns4|dns6)/[^\s'\"`$\\]+/p2p/[1-9A-HJ-NP-Za-km-z]+$", addr):
                raise ValueError(
                    f"{addr!r} is not a multiaddr ending in /p2p/<peer id>, e.g. "
                    "'/dns/boot.example.com/tcp/30333/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp'"
                )
        return value

    @field_validator("extra_args")
    @classmethod
    def _extra_args(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for arg in value:
            flag = arg.split("=", 1)[0]
            if not re.match(r"^--[a-z0-9][a-z0-9-]*$", flag) or re.search(r"[\x00-\x1f'\"`$\\]", arg):
                raise ValueError(f"{arg!r} must look like '--flag' or '--flag=value' without quotes or '$'")
            if flag in _OWNED_FLAGS:
                raise ValueError(f"{flag} is set by the library; use the matching NodeConfig field")
            if flag in _REFUSED_FLAGS:
                raise ValueError(f"{flag} is refused: it {_REFUSED_FLAGS[flag]}")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> "NodeConfig":
        problems = self._role_problems() + self._instance_problems() + self._volume_problems()
        if problems:
            raise ConfigError(problems)
        return self

    def _role_problems(self) -> list[Problem]:
        role, profile, chain = self.role, self.profile, self.chain
        checks: list[tuple[bool, str, str]] = [
            (role is NodeRole.ARCHIVE and self.sync == "warp", "sync",
             "warp sync cannot build an archive; use sync='full' (the default)"),
            (role is NodeRole.VALIDATOR and self.data_volume.retain is False, "data_volume.retain",
             "a validator's volume holds its keystore and node key and is always retained; "
             "remove retain=False (delete a retired validator's volume by hand)"),
            (role is NodeRole.ARCHIVE and self.state_pruning is not None, "state_pruning",
             "an archive node keeps every state; leave it unset"),
            (profile.archive and self.blocks_pruning not in (None, ARCHIVE), "blocks_pruning",
             "an archive node keeps every block; leave it unset"),
            (isinstance(self.blocks_pruning, int) and not profile.archive
             and self.blocks_pruning < self.effective_state_pruning, "blocks_pruning",
             f"keeps the bodies of fewer blocks than state_pruning keeps states "
             f"({self.effective_state_pruning}); give at least {self.effective_state_pruning}, "
             "or leave it unset to match state_pruning"),
            (self.sync == "warp" and not chain.supports_warp_sync, "sync",
             f"chain '{chain.name}' does not support warp sync; use 'full'"),
            (role is NodeRole.VALIDATOR and chain.is_parachain, "chain",
             f"validators run on relay chains; '{chain.name}' is a parachain (use role='rpc' "
             f"or 'archive', or chain='{chain.relay_chain}')"),
            (not profile.rpc_external and bool(self.rpc.ingress_cidrs), "rpc.ingress_cidrs",
             f"a {role.value}'s RPC listens on localhost only and is never reachable from the "
             "network; remove ingress_cidrs"),
            (self.tls is not None and not profile.allows_tls, "tls",
             f"a {role.value} serves no public endpoint; remove tls"),
            (self.tls is not None and self.dns is not None and self.tls.domain != self.dns.name, "tls.domain",
             f"the certificate would name {self.tls.domain if self.tls else ''} but the node's DNS record is "
             f"{self.dns.name if self.dns else ''}: give both the same name (or remove dns and point your own "
             "record for tls.domain at the node)"),
            (self.tls is not None and self.tls.challenge == "dns-01"
             and not (self.tls.hosted_zone_id or self.dns), "tls.hosted_zone_id",
             "dns-01 needs the Route53 zone; set it or NodeConfig.dns"),
            (self.dns is not None and self.elastic_ip is False, "elastic_ip",
             "a DNS record needs a stable public address, the node's Elastic IP; remove "
             "elastic_ip=False (or remove dns and point your own record at the node)"),
            (self.rpc.trust_proxy_headers and self.tls is None, "rpc.trust_proxy_headers",
             "only safe behind our nginx (set tls); otherwise clients could spoof "
             "X-Forwarded-For"),
            (bool(self.relay_chain_rpc_urls) and not chain.is_parachain, "relay_chain_rpc_urls",
             f"'{chain.name}' is not a parachain; remove them"),
            (self.embedded_relay and profile.runs_chain_node and chain.relay_chain not in CATALOG, "relay_chain_rpc_urls",
             f"the embedded relay node runs --chain {chain.relay_chain}, which is not a catalog relay chain "
             f"({', '.join(n for n, c in CATALOG.items() if not c.is_parachain)}); give the relay's RPC endpoints, "
             "e.g. relay_chain_rpc_urls=('wss://relay.example.com',)"),
            (role is NodeRole.TELEMETRY and self.telemetry_server is None, "telemetry_server",
             "the telemetry role needs the substrate-telemetry images pinned by digest: "
             "TelemetryServerConfig(backend_image=..., frontend_image=...)"),
            (role is not NodeRole.TELEMETRY and self.telemetry_server is not None,
             "telemetry_server", "only the telemetry role runs a telemetry server; remove it"),
            (role is NodeRole.TELEMETRY and self.tls is None, "tls",
             "the telemetry role serves its UI and shard over TLS; set tls"),
        ]
        return [Problem(field, message) for failed, field, message in checks if failed]

    def _volume_problems(self) -> list[Problem]:
        size, needed = self.data_volume.size_gib, self.min_volume_gib
        if size is None or size >= needed:
            return []
        kind = "archive" if self.profile.archive else "pruned"
        return [Problem(
            "data_volume.size_gib",
            f"{size} GiB is smaller than a {kind} '{self.chain.name}' database (~{needed} GiB"
            f"{' with its embedded relay chain' if self.embedded_relay else ''}); give at least "
            f"{needed} or leave it unset for {self.default_volume_gib}",
        )]

    def _instance_problems(self) -> list[Problem]:
        try:
            spec = describe(self.effective_instance_type)
        except UnknownInstanceType as error:
            return [Problem("instance_type", str(error))]
        profile = self.profile
        if spec.arm64:
            return [Problem(
                "instance_type",
                f"{spec.name} is arm64 (Graviton); polkadot-sdk releases ship x86_64 Linux "
                "binaries only, pick e.g. c7i/m7i/r7i or c7a/m7a",
            )]
        if spec.vcpus < profile.min_vcpus or spec.memory_gib < profile.min_memory_gib:
            return [Problem(
                "instance_type",
                f"{spec.name} ({spec.vcpus} vCPU, {spec.memory_gib:g} GiB) is too small for a "
                f"{self.role.value}; it needs at least {profile.min_vcpus} vCPU and "
                f"{profile.min_memory_gib} GiB (default {profile.instance_type})",
            )]
        if spec.burstable and self.role is NodeRole.VALIDATOR:
            return [Problem(
                "instance_type", "burstable t-types are throttled under load; validators need c7i/m7i"
            )]
        return []

    # ---- derived values (never stored twice) -------------------------------------

    @property
    def profile(self) -> RoleProfile:
        return PROFILES[self.role]

    @property
    def effective_instance_type(self) -> str:
        return self.instance_type or self.profile.instance_type

    @property
    def effective_sync(self) -> str | None:
        return self.sync or self.profile.sync

    @property
    def effective_state_pruning(self) -> int | str:
        """``--state-pruning``: ``"archive"`` or the number of blocks of state kept."""
        return ARCHIVE if self.profile.archive else self.state_pruning or DEFAULT_STATE_PRUNING

    @property
    def effective_blocks_pruning(self) -> int | str:
        """``--blocks-pruning``: ``"archive"``, ``"archive-canonical"`` or a number."""
        if self.blocks_pruning is not None:
            return self.blocks_pruning
        return self.profile.blocks_pruning or self.effective_state_pruning

    @property
    def effective_ports(self) -> NodePorts:
        return self.ports or self.chain.ports

    @property
    def embedded_relay(self) -> bool:
        return self.chain.is_parachain and not self.relay_chain_rpc_urls

    @property
    def min_volume_gib(self) -> int:
        if not self.profile.runs_chain_node:
            return 0
        keeps_bodies = not isinstance(self.effective_blocks_pruning, int)
        needed = _db_size(self.chain, archive=self.profile.archive, keeps_bodies=keeps_bodies)
        if self.embedded_relay and self.chain.relay_chain in CATALOG:
            # The embedded relay node prunes state and bodies (flags._relay_flags).
            needed += _db_size(CATALOG[self.chain.relay_chain], archive=False, keeps_bodies=False)
        return needed

    @property
    def default_volume_gib(self) -> int:
        """1.5 x the typical database: room to grow between resizes."""
        return max(20, -(-self.min_volume_gib * 3 // 2))

    @property
    def volume_size_gib(self) -> int:
        return self.data_volume.size_gib or self.default_volume_gib

    @property
    def use_elastic_ip(self) -> bool:
        if self.elastic_ip is None:
            return self.profile.elastic_ip or self.dns is not None
        return self.elastic_ip

    @property
    def retain_volume(self) -> bool:
        retain = self.data_volume.retain
        return self.profile.retain_data_volume if retain is None else retain

    @property
    def rpc_max_connections(self) -> int:
        if self.rpc.max_connections is not None:
            return self.rpc.max_connections
        return max(RPC_MIN_CONNECTIONS, RPC_CONNECTIONS_PER_VCPU * describe(self.effective_instance_type).vcpus)

    @property
    def rpc_max_subscriptions_per_connection(self) -> int:
        if self.rpc.max_subscriptions_per_connection is not None:
            return self.rpc.max_subscriptions_per_connection
        budget = RPC_SUBSCRIPTIONS_PER_GIB * describe(self.effective_instance_type).memory_gib
        low, high = RPC_SUBSCRIPTIONS_RANGE
        return int(min(high, max(low, budget // self.rpc_max_connections)))


__all__ = [
    "ConfigError",
    "DataVolumeConfig",
    "DnsConfig",
    "MonitoringAccess",
    "NodeConfig",
    "RpcConfig",
    "TelemetryServerConfig",
    "TlsConfig",
    "get_chain",
]
