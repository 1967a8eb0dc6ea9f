"""Typed configuration of an :class:`AutoscalingApiCluster` (:class:`ApiClusterConfig`).

Framework-free (pydantic only), like :mod:`constructs_substrate.config`: building a
config validates it without loading the Terraform bindings. Every field documents its
default; derived values (grace period, heartbeat timing, certificate names) are
properties, never stored twice. All checks of a config run together and are raised
as one :class:`~constructs_substrate.errors.ConfigError` listing every problem.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from .._model import Model, is_deploy_time, sha256_hex
from ..config import NodeConfig
from ..domains import check_domain, is_within
from ..errors import ConfigError, Problem
from ..instance_types import UnknownInstanceType, describe
from ..roles import NodeRole

MAX_HEARTBEAT_TIMEOUT = 7200
"""EC2 Auto Scaling's largest lifecycle-hook heartbeat timeout (2 h); longer waits
need heartbeats, up to the global limit of 48 h."""
MAX_LIFECYCLE_WAIT = 172800
"""A lifecycle action ends after 48 h (or 100 heartbeat timeouts) whatever happens."""
MAX_HOST_NAMES = 5
"""An ALB rule condition holds at most five values: the regional name plus four."""
ARCHIVE_FORMATS = ("tar", "tar.gz", "tar.zst", "tar.lz4")
NODE_RESTART_SECONDS = 120
"""``RestartSec`` of ``substrate-node.service`` (a test checks the template): a crashed
node is restarted by systemd after this long."""
NODE_START_SECONDS = 60
"""Allowance for a restarted node to open its database and answer RPC again."""
MAX_CLUSTER_NODE_NAME = 63 - len("-i-0123456789abcdef0")
"""sc-cli refuses a ``--name`` of 64 characters or more (``NODE_NAME_MAX_LENGTH``); a
cluster instance appends ``-<instance id>`` (17 hex digits) to ``node.name``."""
WAF_RATE_LIMIT_PER_5MIN = 3000
"""Default per-client-IP request limit of the ALB's WAF rule (5-minute window)."""

_TLS13_POLICY = re.compile(r"^ELBSecurityPolicy-TLS13-1-[23]-[A-Za-z0-9-]+$")
_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,32}$")
_SNS_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
_SSM_NAME = re.compile(r"^/?[A-Za-z0-9_.\-/]{1,1011}$")
_EXTRACT_TO = re.compile(r"^chains(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$")
_ARCHIVE_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:\d+)?/[A-Za-z0-9._~%/+=&?:@,-]*$")
_PUBLIC_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:\d+)?(/[A-Za-z0-9._~-]+)+/?$")
_PUBLIC_NAME = re.compile(r"^(?P<chain>[a-z0-9-]+?)-(?P<database>rocksdb|paritydb)-(?P<pruning>prune|archive)$")
_CHAIN_DIR = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
PUBLIC_SNAPSHOTS = "https://snapshots.polkadot.io"
"""Parity's public snapshot service: ``<service>/<chain>-<rocksdb|paritydb>-<prune|archive>``
(the list in the README of paritytech/helm-charts ``charts/node``)."""
PUBLIC_SNAPSHOT_CHAINS = {
    "polkadot": (("rocksdb", False), ("rocksdb", True), ("paritydb", True)),
    "kusama": (("rocksdb", False), ("rocksdb", True), ("paritydb", True)),
    "westend": (("rocksdb", False), ("rocksdb", True), ("paritydb", True)),
}
"""Catalog chains with a public snapshot, and its (database, archive) variants: the
list in the README of paritytech/helm-charts ``charts/node`` (2026-04). Pruned
snapshots keep 256 blocks (1000 for westend); a node with another constrained
pruning opens them (sc-state-db compares the pruning mode's kind, not its depth)."""
SPEC_DIRS = {"kusama": "ksmcc3", "westend": "westend2"}
"""Chain spec ids (the directory below ``chains/``) that differ from the catalog's chain id."""



def public_snapshot_url(chain: str, database: str, archive: bool) -> str | None:
    """Parity's public snapshot of ``chain`` for a node with ``database`` and pruning
    (``archive``), or ``None`` when the service has none (see
    :data:`PUBLIC_SNAPSHOT_CHAINS`)."""
    if (database, archive) not in PUBLIC_SNAPSHOT_CHAINS.get(chain, ()):
        return None
    return f"{PUBLIC_SNAPSHOTS}/{chain}-{database}-{'archive' if archive else 'prune'}"


class HealthCheckConfig(Model):
    """The target group's health check of the readiness probe (``GET /ready`` on the
    probe port). Thresholds give hysteresis: a node needs ``healthy_threshold``
    passes in a row to get traffic and ``unhealthy_threshold`` failures to lose it."""

    interval_seconds: int = Field(default=5, ge=5, le=300)
    """Seconds between checks of each target. Default: 5 (the ALB minimum, the probe's
    poll interval): a node that fails is out of rotation within the 30 s promise by
    design: worst case probe ``fall x interval + rpc-timeout`` (13 s) plus
    ``unhealthy_threshold x interval`` (10 s) = 23 s; with 10 s it would be 33 s."""
    timeout_seconds: int = Field(default=4, ge=2, le=120)
    """Seconds to wait for an answer; must be below the interval. Default: 4 (the probe
    answers from a cached verdict in milliseconds; 4 s only absorbs a loaded host)."""
    healthy_threshold: int = Field(default=3, ge=2, le=10)
    """Consecutive passes before a target gets traffic. Default: 3 (15 s; back within
    ``rise x interval + rpc-timeout`` (13 s) + 15 s = 28 s of recovering)."""
    unhealthy_threshold: int = Field(default=2, ge=2, le=10)
    """Consecutive failures before a target stops getting new requests. Default: 2
    (10 s; the probe already applies its own fall hysteresis before answering 503)."""

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> "HealthCheckConfig":
        if self.timeout_seconds >= self.interval_seconds:
            raise ConfigError.of(
                "timeout_seconds",
                f"must be less than interval_seconds ({self.interval_seconds}); "
                f"got {self.timeout_seconds}",
            )
        return self


class LoadBalancerConfig(Model):
    """Settings of the Application Load Balancer itself. When clusters share one ALB
    (``AutoscalingApiCluster(load_balancer=...)``) these belong to the shared
    :class:`ApiLoadBalancer`, and a cluster must leave them unset."""

    idle_timeout_seconds: int = Field(default=3600, ge=1, le=4000)
    """Seconds without a byte in either direction before the ALB closes a connection
    (1..4000, the AWS maximum). Default: 3600: a WebSocket holding only quiet
    subscriptions (polkadot.js sends no keep-alive pings of its own) can be silent for
    minutes, and the ALB default of 60 s would cut it; dead ones still end within an
    hour."""
    ssl_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    """TLS policy of the HTTPS listener; must be a TLS 1.3 policy
    (``ELBSecurityPolicy-TLS13-...``). Default: ``ELBSecurityPolicy-TLS13-1-2-2021-06``
    (TLS 1.3 and 1.2 with forward-secret AEAD ciphers only)."""
    access_log_retention_days: int = Field(default=90, ge=1, le=3650)
    """Days access logs are kept in the S3 bucket before they expire. Default: 90."""
    waf_rate_limit_per_5min: int | None = Field(default=WAF_RATE_LIMIT_PER_5MIN, ge=10, le=2_000_000_000)
    """A WAF web ACL on the ALB blocks (403) a client IP that sent more than this many
    requests in the last 5 minutes, until it slows down (HTTP requests and WebSocket
    handshakes; calls inside a WebSocket are the node's ``rpc.rate_limit_per_minute``).
    Default: 3000 (10 requests/s on average per IP). ``None``: no WAF (then nothing
    limits a client IP)."""
    deletion_protection: bool = True
    """Refuse to delete the ALB (turn off and apply before destroying the stack).
    Default: true; a public endpoint's DNS name must not vanish by accident."""

    @field_validator("ssl_policy")
    @classmethod
    def _tls13(cls, value: str) -> str:
        if not _TLS13_POLICY.match(value):
            raise ValueError(
                f"{value!r} is not a TLS 1.3 ALB policy; use e.g. "
                "'ELBSecurityPolicy-TLS13-1-2-2021-06' or 'ELBSecurityPolicy-TLS13-1-3-2021-06'"
            )
        return value


class LivenessConfig(Model):
    """When an instance is replaced (not merely taken out of rotation): the on-instance
    liveness watcher reports it ``Unhealthy`` once the probe's ``GET /live`` (the node
    answers JSON-RPC at all) has failed continuously for ``window_seconds``. A stalled
    chain, finality lag, a node behind the network or clients saturating it never do."""

    window_seconds: int = Field(default=300, ge=60, le=86400)
    """Seconds ``/live`` must fail without a break before the instance is replaced.
    Must exceed what a crash the node's unit heals takes: ``RestartSec`` (120 s) plus a
    start allowance (60 s). Default: 300 (5 min): a node dead or wedged for minutes is
    replaced, a restart is not; the probe's ``--live-seconds`` (30 s) comes on top."""
    poll_seconds: int = Field(default=10, ge=1, le=300)
    """Seconds between the watcher's ``/live`` requests. Default: 10."""

    @model_validator(mode="after")
    def _window(self) -> "LivenessConfig":
        floor = NODE_RESTART_SECONDS + NODE_START_SECONDS
        if self.window_seconds <= floor:
            raise ConfigError.of(
                "window_seconds",
                f"must exceed the node unit's RestartSec ({NODE_RESTART_SECONDS} s) plus a start allowance "
                f"({NODE_START_SECONDS} s) = {floor} s, or a crash systemd heals would replace the instance; "
                f"got {self.window_seconds}",
            )
        if self.poll_seconds * 3 > self.window_seconds:
            raise ConfigError.of(
                "poll_seconds", f"poll at least 3 times per window ({self.window_seconds} s); got {self.poll_seconds}"
            )
        return self


class RollingUpdateConfig(Model):
    """How an instance refresh replaces instances when the launch template changes
    (release pin, flags, AMI pin, volume settings)."""

    min_healthy_percentage: int = Field(default=100, ge=0, le=100)
    """Capacity (percent of desired) kept in service during a refresh. Default: 100:
    new instances are launched and become ready before old ones are drained."""
    max_healthy_percentage: int = Field(default=200, ge=100, le=200)
    """Capacity allowed above desired during a refresh (at most 100 points above the
    minimum). Default: 200: the whole group's replacements launch and sync at once,
    so a refresh takes one sync time instead of one per batch, while every old
    instance keeps serving until its replacement is in service and warmed up."""

    @model_validator(mode="after")
    def _range(self) -> "RollingUpdateConfig":
        if self.max_healthy_percentage - self.min_healthy_percentage > 100:
            raise ConfigError.of(
                "max_healthy_percentage",
                "may be at most 100 points above min_healthy_percentage",
            )
        if self.min_healthy_percentage == 100 and self.max_healthy_percentage == 100:
            raise ConfigError.of(
                "max_healthy_percentage",
                "with min_healthy_percentage 100 a refresh needs room above 100% to launch "
                "replacements first; raise it (e.g. 200) or lower min_healthy_percentage",
            )
        return self


class WarmPoolConfig(Model):
    """Stopped, pre-synced instances kept beside the group: a scale-out starts one and
    it only has to catch up from where it stopped (minutes instead of a full sync)."""

    min_size: int = Field(default=1, ge=0, le=100)
    """Instances kept in the pool at least. Default: 1."""
    max_prepared_capacity: int | None = Field(default=None, ge=0, le=200)
    """Most instances in the group plus the pool. Default: the group's ``max_size``
    (the pool holds ``max_size`` minus the desired capacity, at least ``min_size``)."""
    reuse_on_scale_in: bool = True
    """Return scaled-in instances to the pool (stopped) instead of terminating them.
    Default: true (their database stays, so the next scale-out is fast)."""

    @model_validator(mode="after")
    def _sizes(self) -> "WarmPoolConfig":
        if self.max_prepared_capacity is not None and self.max_prepared_capacity < self.min_size:
            raise ConfigError.of("max_prepared_capacity", f"must be at least min_size ({self.min_size})")
        return self


class SpotConfig(Model):
    """A mixed instances policy: an on-demand base, Spot above it, several types."""

    instance_types: tuple[str, ...] = ()
    """Instance types to launch (x86_64, each with the node type's vCPU count and at
    least its memory, since the connection and subscription limits are sized once).
    Default: only ``node.instance_type``."""
    on_demand_base_capacity: int = Field(default=2, ge=0, le=100)
    """Instances that are always on-demand. Default: 2 (the default ``min_size``: the
    minimum capacity never depends on Spot)."""
    on_demand_percentage_above_base: int = Field(default=0, ge=0, le=100)
    """Percent on-demand of the capacity above the base. Default: 0 (all Spot)."""
    allocation_strategy: Literal["price-capacity-optimized", "capacity-optimized", "lowest-price"] = (
        "price-capacity-optimized"
    )
    """Spot allocation strategy. Default: ``price-capacity-optimized`` (AWS's
    recommendation: the deepest pools, hence the fewest interruptions, at low price)."""


class ChainSnapshot(Model):
    """Start new instances from chain data instead of syncing from genesis. Sources,
    fastest first: an EBS snapshot whose id is read from an SSM parameter (refresh the
    parameter to move every new instance to a newer snapshot, no code change); a public
    snapshot in Parity's layout (``public_url``, e.g. snapshots.polkadot.io) downloaded
    in parallel, resumably and verified; or a single database archive. An instance uses
    the first that is available and falls back to the next (warp sync last), logging
    each step: ``ssm_parameter_name`` may be combined with ``public_url``; an archive is
    the only source when given."""

    ssm_parameter_name: str | None = None
    """SSM parameter (String) holding an EBS snapshot id (``snap-...``) of a data
    volume; the data volume of every new instance is created from it. Enable Fast
    Snapshot Restore on the snapshot or blocks load lazily (slowly) at first. Default:
    none."""
    archive_url: str | None = None
    """HTTPS URL of a database archive (``.tar``, ``.tar.gz``, ``.tar.zst`` or
    ``.tar.lz4``). The data volume must hold the archive and the extracted database
    together. Default: none."""
    archive_sha256: str | None = None
    """Lowercase hex SHA-256 of the archive; required with ``archive_url``. Default: none."""
    public_url: str | None = None
    """HTTPS URL of a snapshot in the layout of Parity's public snapshot service: a base
    such as ``https://snapshots.polkadot.io/polkadot-rocksdb-prune`` (the newest
    snapshot, named by its ``latest_version.meta.txt``) or one snapshot below it
    (``.../polkadot-rocksdb-prune/20260316-011637``). Its ``files.txt`` lists the
    database files; they download in parallel into an empty database, resume after an
    interruption and are verified (length; SHA-256 when ``files.sha256`` is published)
    before one rename moves them into place. The snapshot's database kind and pruning
    must match the node (``node.database``, role). Default: none."""
    public_database: Literal["rocksdb", "paritydb"] | None = None
    """The public snapshot's database kind. Default: from the URL's name
    (``<chain>-<rocksdb|paritydb>-<prune|archive>``); required when the name says none."""
    public_archive: bool | None = None
    """Whether the public snapshot is an archive database (else pruned). Default: from
    the URL's name (``-archive`` or ``-prune``); required when the name says neither."""
    public_chain_dir: str | None = None
    """Directory below ``chains/`` that the node keeps this chain in (the chain spec's
    id): the files go to ``chains/<dir>/db`` (RocksDB) or ``chains/<dir>/paritydb``.
    Default: the node chain's spec id (``polkadot``, ``ksmcc3`` for kusama,
    ``westend2`` for westend, else the chain id); required for a custom chain spec."""
    extract_to: str = "chains"
    """Directory below the data directory that the archive's top level corresponds to:
    ``chains`` when the archive holds ``<chain id>/db/...``; e.g.
    ``chains/polkadot/db/full`` when it holds the database files themselves. Must start
    with ``chains``. Default: ``chains``."""

    @field_validator("ssm_parameter_name")
    @classmethod
    def _ssm(cls, value: str | None) -> str | None:
        if value is not None and not _SSM_NAME.match(value):
            raise ValueError(f"{value!r} is not an SSM parameter name like '/substrate/polkadot/snapshot-id'")
        return value

    @field_validator("archive_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not _ARCHIVE_URL.match(value):
            raise ValueError(f"{value!r} must be an https:// URL without spaces, quotes or '$'")
        if not any(value.split("?")[0].endswith("." + suffix) for suffix in ARCHIVE_FORMATS):
            raise ValueError(f"the URL must end in one of: {', '.join('.' + s for s in ARCHIVE_FORMATS)}")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is not None and not _PUBLIC_URL.match(value):
            raise ValueError(
                f"{value!r} must be an https:// URL of a snapshot base like "
                f"'{PUBLIC_SNAPSHOTS}/polkadot-rocksdb-prune' (no query, spaces or quotes)"
            )
        return value.rstrip("/") if value else value

    @field_validator("public_chain_dir")
    @classmethod
    def _chain_dir(cls, value: str | None) -> str | None:
        if value is not None and (not _CHAIN_DIR.match(value) or value in (".", "..")):
            raise ValueError(f"{value!r} must be one directory name like 'polkadot' or 'ksmcc3'")
        return value

    @field_validator("archive_sha256")
    @classmethod
    def _sha(cls, value: str | None) -> str | None:
        return None if value is None else sha256_hex(value, "the archive")

    @field_validator("extract_to")
    @classmethod
    def _extract_to(cls, value: str) -> str:
        value = value.strip("/")
        if not _EXTRACT_TO.match(value) or ".." in value.split("/"):
            raise ValueError(
                f"{value!r} must be 'chains' or a path below it like 'chains/polkadot/db/full'"
            )
        return value

    @model_validator(mode="after")
    def _one_source(self) -> "ChainSnapshot":
        archive = self.archive_url is not None
        if archive and self.public_url is not None:
            raise ConfigError.of("public_url", "give one download source: public_url or archive_url, not both")
        if (self.ssm_parameter_name is not None or self.public_url is not None) == archive:
            raise ConfigError.of(
                "ssm_parameter_name",
                "give a source: ssm_parameter_name (an EBS snapshot) and/or public_url (a public "
                "snapshot), or archive_url with archive_sha256 (a database archive) alone",
            )
        name = self.public_name
        for field, value in (("public_database", self.public_database), ("public_archive", self.public_archive)):
            if self.public_url is not None and value is None and name is None:
                raise ConfigError.of(
                    field, f"the name of {self.public_url} is not <chain>-<rocksdb|paritydb>-<prune|archive>; "
                    f"give {field}",
                )
        if archive != (self.archive_sha256 is not None):
            raise ConfigError.of("archive_sha256", "archive_url and archive_sha256 go together; give both")
        return self

    @property
    def public_name(self) -> re.Match | None:
        """The public snapshot's base name parsed (``chain``, ``database``, ``pruning``)."""
        if self.public_url is None:
            return None
        parts = self.public_url.split("/")[3:]
        names = [part for part in parts if _PUBLIC_NAME.match(part)]
        return _PUBLIC_NAME.match(names[-1]) if names else None

    @property
    def public_kind(self) -> tuple[str, bool] | None:
        """``(database, archive)`` of the public snapshot."""
        if self.public_url is None:
            return None
        name = self.public_name
        database = self.public_database or (name["database"] if name else None)
        archive = self.public_archive if self.public_archive is not None else bool(name and name["pruning"] == "archive")
        assert database is not None
        return database, archive

    @property
    def archive_format(self) -> str | None:
        if self.archive_url is None:
            return None
        path = self.archive_url.split("?")[0]
        return max((s for s in ARCHIVE_FORMATS if path.endswith("." + s)), key=len)


class AlarmConfig(Model):
    """CloudWatch alarms of the cluster and where they notify."""

    topic_arn: str | None = None
    """SNS topic for alarm and OK notifications. Default: a topic created with the
    cluster, encrypted with its own KMS key (CloudWatch cannot publish to a topic
    encrypted with the AWS managed ``alias/aws/sns`` key); subscribe to it."""
    error_rate_percent: float = Field(default=5.0, gt=0, le=100)
    """Alarm when 5xx answers (from the ALB and from nodes) exceed this percent of
    requests for 5 minutes in a row. Default: 5."""
    response_time_seconds: float = Field(default=2.0, gt=0, le=600)
    """Alarm when the p95 target response time exceeds this for 5 minutes in a row.
    Default: 2 (heavy state queries take hundreds of milliseconds; seconds mean an
    overloaded or stuck node)."""

    @field_validator("topic_arn")
    @classmethod
    def _arn(cls, value: str | None) -> str | None:
        if value is not None and not is_deploy_time(value) and not _SNS_ARN.match(value):
            raise ValueError(f"{value!r} is not an SNS topic ARN like 'arn:aws:sns:eu-central-1:123456789012:alerts'")
        return value


class ApiClusterConfig(Model):
    """A public, autoscaled JSON-RPC (HTTP + WebSocket) endpoint of one chain in one
    region. Required: ``node``, ``domain_name``, ``zone_name``, ``hosted_zone_id``."""

    node: NodeConfig
    """Every instance's node (role ``rpc`` or ``archive``). ``node.name`` names the
    instances; ``--rpc-max-connections`` and the other limits come from ``node.rpc``."""
    domain_name: str
    """The regional endpoint's name, e.g. ``eu-central-1.polkadot.rpc.example.com``:
    on the certificate, in the ALB host rule, and an alias record to the ALB."""
    zone_name: str
    """Name of the Route53 hosted zone ``hosted_zone_id``, e.g. ``rpc.example.com``:
    every certificate name must be within it (validation records are written there)."""
    hosted_zone_id: str
    """Route53 hosted zone id for the alias record and the certificate validation."""
    extra_names: tuple[str, ...] = ()
    """More names on the certificate and in the host rule (at most 4), e.g. the global
    name a geo/latency record points here. No records are created for them. Default:
    none."""
    validated_elsewhere: tuple[str, ...] = ()
    """Names of ``extra_names`` whose certificate validation record another stack owns:
    a name several regions' certificates carry (ACM gives each name one validation
    CNAME per account, in every Region), so that destroying one region never deletes
    the record the others renew with. The cluster writes no validation record for them
    and its certificate is issued once the owner's record exists (``deploy_chain``: the
    ``<chain>-validation`` stack, applied first). Default: none (every record here)."""
    min_size: int = Field(default=2, ge=1, le=100)
    """Fewest instances in service. Default: 2 (one per AZ, survives an AZ outage)."""
    max_size: int = Field(default=6, ge=1, le=100)
    """Most instances in service. Default: 6."""
    lifecycle_timeout_seconds: int = Field(default=7200, ge=300, le=MAX_LIFECYCLE_WAIT)
    """How long a new instance may take to become ready (synced, peers, head advancing),
    counted from boot, before it abandons its launch and is replaced (300..172800).
    Default: 7200 (2 h): a warp sync of a relay chain and its catch-up. Above 7200 the
    instance sends heartbeats. Nodes that full-sync (archive) need a ``snapshot``; days
    of sync exceed any timeout. Changing it rolls the instances, never the group."""
    deregistration_delay_seconds: int = Field(default=300, ge=0, le=3600)
    """Seconds a leaving instance (scale-in, refresh, unhealthy) keeps serving its open
    connections before the ALB closes them. Default: 300: clients get minutes to finish
    calls and resubscribe elsewhere; longer only delays every scale-in and upgrade."""
    health_check: HealthCheckConfig = HealthCheckConfig()
    """The target group's readiness check. Default: see :class:`HealthCheckConfig`."""
    load_balancer: LoadBalancerConfig = LoadBalancerConfig()
    """The ALB's settings when the cluster creates its own. Default: see
    :class:`LoadBalancerConfig`."""
    target_requests_per_instance: int | None = Field(default=6000, ge=1)
    """Target-tracking scaling on ALB requests per instance per minute. Default: 6000
    (100/s). A WebSocket connection counts once, however many calls it carries, hence
    the CPU policy beside it. ``None``: no request-count policy."""
    target_cpu_percent: int | None = Field(default=60, ge=10, le=95)
    """Target-tracking scaling on the group's average CPU. Default: 60 (headroom for
    bursts while a new instance syncs). ``None``: no CPU policy."""
    scale_in: bool = True
    """Let the scaling policies remove instances. Default: true. Each removal drains for
    ``deregistration_delay_seconds`` and its WebSocket clients must reconnect; false
    keeps the size the policies reached (scale in by hand)."""
    rolling_update: RollingUpdateConfig = RollingUpdateConfig()
    """Instance refresh settings. Default: see :class:`RollingUpdateConfig`."""
    warm_pool: WarmPoolConfig | None = None
    """A pool of stopped, pre-synced instances. Default: none. Not with ``spot``."""
    spot: SpotConfig | None = None
    """Mixed on-demand/Spot instances. Default: none (all on-demand ``node.instance_type``)."""
    snapshot: ChainSnapshot | None = None
    """Chain data for new instances. Default: none (warp sync for pruned nodes)."""
    alarms: AlarmConfig = AlarmConfig()
    """Alarms and their SNS topic. Default: see :class:`AlarmConfig`."""
    liveness: LivenessConfig = LivenessConfig()
    """When a dead node's instance is replaced. Default: see :class:`LivenessConfig`."""
    listener_rule_priority: int | None = Field(default=None, ge=1, le=49999)
    """Priority of the cluster's ``/ready`` rule on the HTTPS listener; its host rule
    takes the next number (both unique per listener). Default: the next free priorities."""

    @field_validator("domain_name", "zone_name")
    @classmethod
    def _dns(cls, value: str) -> str:
        return check_domain(value)

    @field_validator("extra_names", "validated_elsewhere")
    @classmethod
    def _extra_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_domain(name) for name in value)

    @field_validator("hosted_zone_id")
    @classmethod
    def _zone_id(cls, value: str) -> str:
        if not is_deploy_time(value) and not _ZONE_ID.match(value):
            raise ValueError(f"{value!r} is not a Route53 hosted zone id like 'Z0123456789ABCDEFGHIJ'")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> "ApiClusterConfig":
        problems = (
            self._node_problems() + self._name_problems() + self._size_problems()
            + self._spot_problems() + self._sync_problems() + self._public_snapshot_problems()
        )
        if problems:
            raise ConfigError(problems)
        return self

    def _node_problems(self) -> list[Problem]:
        node = self.node
        checks: list[tuple[bool, str, str]] = [
            (node.role not in (NodeRole.RPC, NodeRole.ARCHIVE), "node.role",
             f"a cluster serves RPC: use role 'rpc' or 'archive', not '{node.role.value}'"),
            (node.tls is not None, "node.tls",
             "the ALB terminates TLS with an ACM certificate; remove node.tls"),
            (node.dns is not None, "node.dns",
             "the cluster creates the alias record for domain_name; remove node.dns"),
            (node.elastic_ip is True, "node.elastic_ip",
             "instances of an Auto Scaling group cannot keep Elastic IPs; remove it"),
            (len(node.name) > MAX_CLUSTER_NODE_NAME, "node.name",
             f"each instance's --name is node.name plus '-<instance id>' (20 characters) and the "
             f"node refuses names of 64 characters or more: use at most {MAX_CLUSTER_NODE_NAME}, "
             f"got {len(node.name)}"),
            (bool(node.rpc.ingress_cidrs), "node.rpc.ingress_cidrs",
             "instances accept RPC only from the ALB; remove ingress_cidrs"),
            (node.data_volume.retain is True, "node.data_volume.retain",
             "cluster data volumes are deleted with their instance (use a snapshot to "
             "keep chain data); remove retain"),
            (node.data_volume.snapshot_id is not None and self.snapshot is not None,
             "snapshot", "give the chain data once: node.data_volume.snapshot_id or snapshot"),
        ]
        return [Problem(field, message) for failed, field, message in checks if failed]

    def _name_problems(self) -> list[Problem]:
        problems = []
        for field, names in (("domain_name", [self.domain_name]), ("extra_names", list(self.extra_names))):
            outside = [name for name in names if not is_within(name, self.zone_name)]
            if outside:
                problems.append(Problem(
                    field, f"{', '.join(outside)} is not within zone_name '{self.zone_name}'; "
                    "certificate validation records can only be written in that zone",
                ))
        unknown = [name for name in self.validated_elsewhere if name not in self.extra_names]
        if unknown:
            problems.append(Problem(
                "validated_elsewhere", f"{', '.join(unknown)} is not in extra_names; list only extra names "
                "whose validation record another stack owns",
            ))
        if len(set(self.names)) != len(self.names):
            problems.append(Problem("extra_names", "repeats a name (or domain_name); list each name once"))
        if len(self.names) > MAX_HOST_NAMES:
            problems.append(Problem(
                "extra_names",
                f"at most {MAX_HOST_NAMES - 1} (an ALB host rule holds {MAX_HOST_NAMES} names with domain_name)",
            ))
        return problems

    def _size_problems(self) -> list[Problem]:
        problems = []
        if self.min_size > self.max_size:
            problems.append(Problem("max_size", f"must be at least min_size ({self.min_size}), got {self.max_size}"))
        if (self.target_requests_per_instance is None and self.target_cpu_percent is None
                and self.min_size != self.max_size):
            problems.append(Problem(
                "target_cpu_percent",
                "no scaling policy is left; set target_cpu_percent or target_requests_per_instance, "
                "or make max_size equal to min_size for a fixed-size cluster",
            ))
        if self.warm_pool is not None and self.spot is not None:
            problems.append(Problem(
                "warm_pool", "EC2 Auto Scaling does not support warm pools with Spot or mixed "
                "instances; remove warm_pool or spot",
            ))
        return problems

    def _spot_problems(self) -> list[Problem]:
        if self.spot is None:
            return []
        problems = []
        if self.spot.on_demand_base_capacity > self.max_size:
            problems.append(Problem("spot.on_demand_base_capacity", f"must be at most max_size ({self.max_size})"))
        node_spec = describe(self.node.effective_instance_type)
        vcpus, memory = node_spec.vcpus, node_spec.memory_gib
        for name in self.spot.instance_types:
            try:
                self.node.replace(instance_type=name)
                spec = describe(name)
            except (ConfigError, UnknownInstanceType) as error:
                message = error.problems[0].message if isinstance(error, ConfigError) else str(error)
                problems.append(Problem("spot.instance_types", message))
                continue
            if spec.vcpus != vcpus or spec.memory_gib < memory:
                problems.append(Problem(
                    "spot.instance_types",
                    f"{name} has {spec.vcpus} vCPUs and {spec.memory_gib:g} GiB but "
                    f"{self.node.effective_instance_type} has {vcpus} and {memory:g}; the node's connection "
                    "and subscription limits are rendered once, so use types of the same size",
                ))
        return problems

    def _sync_problems(self) -> list[Problem]:
        has_data = self.snapshot is not None or self.node.data_volume.snapshot_id is not None
        if has_data or self.node.effective_sync == "warp":
            return []
        if "lifecycle_timeout_seconds" in self.model_fields_set:
            return []  # the user sized the wait for their chain's full sync
        return [Problem(
            "snapshot",
            f"a '{self.node.effective_sync}' sync of '{self.node.chain.name}' "
            f"({'archive' if self.node.profile.archive else 'pruned'}) takes far longer than "
            f"lifecycle_timeout_seconds ({self.lifecycle_timeout_seconds}); give snapshot=ChainSnapshot(...) "
            "or, for a small chain, set lifecycle_timeout_seconds to its sync time",
        )]

    def _public_snapshot_problems(self) -> list[Problem]:
        """The public snapshot must be a database this node can open: the same kind
        (``--database``) and pruning (Substrate refuses a stored pruning mode other than
        the requested one: ``StateDbError::IncompatiblePruningModes`` in sc-state-db)
        and the same chain."""
        snapshot, node = self.snapshot, self.node
        if snapshot is None or snapshot.public_kind is None:
            return []
        database, archive = snapshot.public_kind
        problems = []
        if database != node.database:
            problems.append(Problem(
                "node.database",
                f"is '{node.database}' but the public snapshot {snapshot.public_url} is a '{database}' database; "
                f"set node.database='{database}' or use the snapshot's -{node.database}- variant",
            ))
        if archive != node.profile.archive:
            want, got = ("an archive", "pruned") if node.profile.archive else ("a pruned", "an archive")
            problems.append(Problem(
                "snapshot.public_url",
                f"the node ({node.role.value}) needs {want} database but {snapshot.public_url} is {got} one; "
                "Substrate refuses to open a database with another pruning mode",
            ))
        name = snapshot.public_name
        if name is not None and set(name["chain"].split("-")) != set(node.chain.name.split("-")):
            problems.append(Problem(
                "snapshot.public_url",
                f"{snapshot.public_url} is a snapshot of '{name['chain']}', not of '{node.chain.name}'",
            ))
        if node.chain.chain_spec is not None and snapshot.public_chain_dir is None:
            problems.append(Problem(
                "snapshot.public_chain_dir",
                "a custom chain spec's id is not known here: give the directory below chains/ (the spec's \"id\")",
            ))
        return problems

    # ---- derived values ------------------------------------------------------------

    @property
    def public_snapshot_dir(self) -> str | None:
        """Where the public snapshot's files go, below the data directory:
        ``chains/<spec id>/db`` (RocksDB) or ``chains/<spec id>/paritydb``."""
        snapshot = self.snapshot
        if snapshot is None or snapshot.public_kind is None:
            return None
        chain = self.node.chain
        directory = snapshot.public_chain_dir or SPEC_DIRS.get(chain.chain_id, chain.chain_id)
        return f"chains/{directory}/{'paritydb' if snapshot.public_kind[0] == 'paritydb' else 'db'}"

    @property
    def names(self) -> tuple[str, ...]:
        """Every name on the certificate and in the host rule, regional name first."""
        return (self.domain_name, *self.extra_names)

    @property
    def health_check_grace_seconds(self) -> int:
        """The ASG's grace period. An instance only enters service after its lifecycle
        hook saw the probe ready, so the grace only has to cover the target group's
        first healthy streak (``interval x healthy_threshold``), doubled for margin."""
        return 2 * self.health_check.interval_seconds * self.health_check.healthy_threshold

    @property
    def heartbeat_timeout_seconds(self) -> int:
        """The launch hook's heartbeat timeout: always 7200 (2 h, the AWS maximum).
        A changed hook forces the AWS provider to REPLACE the whole group, so the hook
        never changes; the configurable wait (``lifecycle_timeout_seconds``) is enforced
        by the instance, which abandons itself at its deadline. The hook's own timeout
        is only the safety net for an instance that hangs before it can report."""
        return MAX_HEARTBEAT_TIMEOUT

    @property
    def heartbeat_interval_seconds(self) -> int:
        """How often the instance records a heartbeat while it waits (0: the wait ends
        before the heartbeat timeout, none is needed)."""
        if self.lifecycle_timeout_seconds <= MAX_HEARTBEAT_TIMEOUT:
            return 0
        return MAX_HEARTBEAT_TIMEOUT // 2

    @property
    def data_volume_gib(self) -> int:
        """Each instance's data volume: ``node.volume_size_gib``, but restored chain data
        may hold every block body (a public "prune" snapshot; an EBS snapshot of a volume
        made before bodies were pruned), which pruning never drops: with a ``snapshot``
        and no ``node.data_volume.size_gib``, at least a database that keeps them."""
        node = self.node
        restores = self.snapshot is not None or node.data_volume.snapshot_id is not None
        if not restores or node.data_volume.size_gib is not None or node.profile.archive:
            return node.volume_size_gib
        return max(node.volume_size_gib, node.replace(blocks_pruning="archive-canonical").default_volume_gib)

    @property
    def load_balancer_fields_set(self) -> tuple[str, ...]:
        """The ALB settings given explicitly (refused when the ALB is shared)."""
        return tuple(sorted(self.load_balancer.model_fields_set)) if "load_balancer" in self.model_fields_set else ()


__all__ = [
    "AlarmConfig",
    "ApiClusterConfig",
    "ChainSnapshot",
    "HealthCheckConfig",
    "LivenessConfig",
    "LoadBalancerConfig",
    "RollingUpdateConfig",
    "SpotConfig",
    "WarmPoolConfig",
]
