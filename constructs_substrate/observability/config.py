"""Typed configuration of a region's :class:`~constructs_substrate.observability.Monitoring`.

Framework-free (pydantic only). Inputs that come from other constructs (load balancer
and target group ARN suffixes, Auto Scaling group names, health check ids) are plain
strings and may be Terraform references: they are only checked when known at synth.
"""

from __future__ import annotations

import re
from pydantic import Field, field_validator, model_validator

from .._model import Model, is_deploy_time
from ..errors import ConfigError
from ..naming import MONITORING_NAME_MAX
from .versions import parse_version

LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
"""The retention periods CloudWatch Logs accepts."""
MAX_CANARY_RUN_SECONDS = 840
"""Synthetics' longest run timeout (14 minutes)."""
_NAME = re.compile(rf"^[a-z][a-z0-9-]{{1,{MONITORING_NAME_MAX - 1}}}$")
_EMAIL = re.compile(r"^[^@\s'\"`$\\]+@[^@\s'\"`$\\]+\.[a-z]{2,}$")
_WSS_URL = re.compile(r"^wss?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%/+=&?:@,-]*)?$")
_PAGERDUTY = re.compile(r"^https://events\.(eu\.)?pagerduty\.com/[A-Za-z0-9/_-]+$")
_TAG_KEY = re.compile(r"^[A-Za-z0-9 _.:/=+@-]{1,128}$")



class AlertThresholds(Model):
    """When the Prometheus alert rules fire (see docs/observability.md for each rule)."""

    node_down_minutes: int = Field(default=2, ge=1, le=60)
    """Minutes a node's metrics endpoint must fail to answer before ``SubstrateNodeDown``.
    Default: 2."""
    missing_minutes: int = Field(default=10, ge=2, le=120)
    """Minutes without any sample from an expected node before ``SubstrateNodeMissing``.
    Default: 10."""
    max_blocks_behind: int = Field(default=20, ge=1)
    """Blocks the best block may trail the network's (the sync target) before
    ``SubstrateNodeBehind``. Default: 20 (two minutes of 6 s blocks)."""
    behind_minutes: int = Field(default=10, ge=1)
    """Minutes a node must stay behind or major-syncing before it alerts. Default: 10."""
    stall_minutes: int = Field(default=3, ge=1, le=60)
    """Minutes without a new best block before ``SubstrateBestBlockStalled``. Default: 3
    (30 missed 6 s blocks; parachains with 12 s blocks still produce 15)."""
    max_finality_lag: int = Field(default=20, ge=1)
    """Blocks best may run ahead of finalized before ``SubstrateFinalityLag``. Default:
    20 (GRANDPA normally finalizes within 2-3 blocks)."""
    min_peers: int = Field(default=5, ge=1)
    """Fewest peers before ``SubstrateLowPeers``. Default: 5."""
    disk_fill_hours: int = Field(default=24, ge=1, le=720)
    """``HostDiskWillFill``: the linear trend of the last 6 h reaches zero free space
    within this many hours. Default: 24."""
    cpu_percent: int = Field(default=90, ge=10, le=100)
    """CPU busy percent over 15 minutes before ``HostHighCpu``. Default: 90."""
    memory_percent: int = Field(default=90, ge=10, le=100)
    """Memory used percent over 15 minutes before ``HostHighMemory``. Default: 90."""
    rpc_error_percent: float = Field(default=5.0, gt=0, le=100)
    """Percent of RPC calls answered with an error (over 10 minutes) before
    ``SubstrateRpcErrors``. Default: 5. Client mistakes (unknown methods, bad params)
    count too, so public endpoints may want more."""
    rpc_min_calls_per_second: float = Field(default=1.0, ge=0)
    """Call rate below which the RPC error ratio is not judged. Default: 1."""
    minimum_node_version: str | None = None
    """``SubstrateNodeOutdated`` fires for nodes whose ``substrate_build_info`` version is
    below this (``MAJOR.MINOR.PATCH``, e.g. ``1.16.0``). Default: no version alert."""

    @field_validator("minimum_node_version")
    @classmethod
    def _version(cls, value: str | None) -> str | None:
        if value is not None:
            if parse_version(value) == (0, 0, 0):
                raise ValueError("no version is older than 0.0.0; give a real minimum like '1.16.0'")
        return value


class Notifications(Model):
    """Who hears about alerts: every Prometheus alert and CloudWatch alarm goes to one SNS
    topic, which fans out to these subscriptions."""

    emails: tuple[str, ...] = ()
    """E-mail addresses subscribed to the topic (each must confirm the subscription).
    Default: none."""
    pagerduty_url: str | None = None
    """PagerDuty integration URL (``https://events.pagerduty.com/integration/<key>/enqueue``)
    subscribed over HTTPS. The key ends up in Terraform state. Default: none."""
    no_receiver_reason: str | None = None
    """Why this topic may have no receiver (no ``emails``, no ``pagerduty_url``), e.g.
    ``"staging: watched on the dashboard"``. Without a receiver every alert is dropped,
    so a topic without one refuses to synthesize (``ConfigError`` naming
    ``notifications``) unless this says why. Default: none (a receiver is required)."""


    @field_validator("emails")
    @classmethod
    def _emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [email for email in value if not _EMAIL.match(email)]
        if bad:
            raise ValueError(f"{bad} are not e-mail addresses")
        return tuple(dict.fromkeys(value))

    @field_validator("pagerduty_url")
    @classmethod
    def _pagerduty(cls, value: str | None) -> str | None:
        if value is not None and not is_deploy_time(value) and not _PAGERDUTY.match(value):
            raise ValueError("must be a PagerDuty integration URL like 'https://events.pagerduty.com/integration/<key>/enqueue'")
        return value

    @field_validator("no_receiver_reason")
    @classmethod
    def _reason(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("say why alerts may go unheard, e.g. 'staging: watched on the dashboard', or leave it unset")
        return value

    @property
    def has_receiver(self) -> bool:
        """True when an alert reaches someone (an e-mail or PagerDuty subscription)."""
        return bool(self.emails or self.pagerduty_url)


class LoadBalancerWatch(Model):
    """One Application Load Balancer target group to alarm on and chart."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$", examples=["rpc"])
    """Short name used in alarm names and widget titles, e.g. ``rpc``."""
    load_balancer_arn_suffix: str
    """``app/<name>/<id>`` (the ALB's ``arn_suffix``)."""
    target_group_arn_suffix: str
    """``targetgroup/<name>/<id>`` (the target group's ``arn_suffix``)."""
    error_percent: float = Field(default=5.0, gt=0, le=100)
    """5xx responses (ALB and targets) as a percent of requests before the alarm. Default: 5."""

    @model_validator(mode="after")
    def _suffixes(self) -> "LoadBalancerWatch":
        if not is_deploy_time(self.load_balancer_arn_suffix) and not self.load_balancer_arn_suffix.startswith("app/"):
            raise ConfigError.of("load_balancer_arn_suffix", "must be an ALB arn suffix like 'app/name/0123abcd'")
        if not is_deploy_time(self.target_group_arn_suffix) and not self.target_group_arn_suffix.startswith("targetgroup/"):
            raise ConfigError.of("target_group_arn_suffix", "must be like 'targetgroup/name/0123abcd'")
        return self


class HealthCheckWatch(Model):
    """A Route53 health check to alarm on (its metrics exist only in us-east-1)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$", examples=["eu-central-1"])
    """Short name used in the alarm name, e.g. ``eu-central-1``."""
    health_check_id: str
    """The health check's id."""


class BudgetConfig(Model):
    """A monthly cost budget with notifications at percentages of the limit. A budget is
    account-wide: configure it in one region's Monitoring only."""

    limit_usd: float = Field(gt=0)
    """Monthly limit in US dollars."""
    alert_percents: tuple[int, ...] = (80, 100)
    """Notify when actual cost passes these percents of the limit, and when the
    forecast passes 100. Default: 80 and 100."""
    cost_allocation_tag: tuple[str, str] | None = None
    """Count only costs tagged ``key=value``, e.g. ``("chain", "polkadot")`` (the
    example apps' providers tag every resource with its ``chain``). Budgets filter on a
    tag only once its key is an activated cost allocation tag (account-wide, in the
    management account; the key appears for activation up to 24 h after resources first
    carry it): until then a tag-filtered budget counts nothing. ``None`` counts the
    whole account. Default: none (the whole account)."""

    @field_validator("alert_percents")
    @classmethod
    def _percents(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(p <= 0 or p > 1000 for p in value):
            raise ValueError("give one or more percents between 1 and 1000")
        return tuple(sorted(set(value)))


class CanaryConfig(Model):
    """A CloudWatch Synthetics canary that checks the public WebSocket endpoints the way
    a client does (see docs/observability.md, "Synthetic checks")."""

    endpoints: tuple[str, ...]
    """``wss://`` URLs to check on every run."""
    schedule_minutes: int = Field(default=5, ge=1, le=60)
    """Minutes between runs. Default: 5."""
    new_head_seconds: int = Field(default=30, ge=5, le=120)
    """A new best block must arrive on ``chain_subscribeNewHeads`` within this many
    seconds. Default: 30 (five 6 s blocks)."""
    max_finality_lag: int = Field(default=30, ge=1)
    """Most blocks best may lead finalized. Default: 30."""
    timeout_seconds: int = Field(default=10, ge=2, le=60)
    """Per-request timeout (handshake, each call). Default: 10."""
    runtime_version: str = Field(default="syn-python-selenium-14.0", pattern=r"^syn-python-selenium-[0-9]+\.[0-9]+$")
    """Synthetics Python runtime (the check needs only its Python; no browser is
    started). Default: ``syn-python-selenium-14.0`` (Python 3.12)."""
    artifact_retention_days: int = Field(default=14, ge=1, le=455)
    """Days run artifacts are kept in the bucket (and run records in Synthetics). Default: 14."""

    @field_validator("endpoints")
    @classmethod
    def _endpoints(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("give at least one wss:// endpoint")
        bad = [url for url in value if not _WSS_URL.match(url)]
        if bad:
            raise ValueError(f"{bad} are not ws:// or wss:// URLs")
        return tuple(dict.fromkeys(value))

    @property
    def run_timeout_seconds(self) -> int:
        """Worst case of one run: per endpoint the handshake and five calls of at most
        ``timeout_seconds`` each, plus the wait for a new head."""
        return len(self.endpoints) * (6 * self.timeout_seconds + self.new_head_seconds) + 10

    @model_validator(mode="after")
    def _fits_schedule(self) -> "CanaryConfig":
        limit = min(MAX_CANARY_RUN_SECONDS, self.schedule_minutes * 60)
        if self.run_timeout_seconds > limit:
            raise ConfigError.of(
                "endpoints",
                f"one run may take {self.run_timeout_seconds}s for {len(self.endpoints)} endpoints, more than "
                f"{limit}s (the {self.schedule_minutes}-minute schedule, at most Synthetics' "
                f"{MAX_CANARY_RUN_SECONDS}s): lower new_head_seconds/timeout_seconds, raise schedule_minutes "
                "or split the endpoints",
            )
        return self


class MonitoringConfig(Model):
    """Everything one region's monitoring decides. Only ``name`` is required."""

    name: str
    """Short name for resource names, e.g. ``polkadot-eu`` (2-40 lowercase letters,
    digits, ``-``), unique among the monitorings of one account and region: it names
    the log group, the canary and the capacity alarms, and tags this monitoring's
    nodes. ``deploy_chain`` uses :func:`~constructs_substrate.naming.deployment_name`."""
    workspace_id: str | None = None
    """An existing Amazon Managed Service for Prometheus workspace id. Its rule
    namespace and alert manager definition are replaced by ours. Default: create one."""
    thresholds: AlertThresholds = AlertThresholds()
    """When the Prometheus alerts fire. Default: see :class:`AlertThresholds`."""
    expected_nodes: tuple[str, ...] = ()
    """``NodeConfig.name`` of nodes that must always report (validators, bootnodes):
    ``SubstrateNodeMissing`` fires when one stops sending anything. Default: none."""
    notifications: Notifications = Notifications()
    """Alert subscriptions. Required: an e-mail or PagerDuty receiver, or
    ``Notifications(no_receiver_reason=...)`` to go without one on purpose. Default:
    ``Notifications()``, which has none of these and refuses to synthesize."""
    log_retention_days: int = 365
    """Days node logs are kept. Default: 365 (a year of incident history)."""
    load_balancers: tuple[LoadBalancerWatch, ...] = ()
    """ALB target groups to alarm on (unhealthy hosts, 5xx) and chart. Default: none."""
    auto_scaling_groups: tuple[str, ...] = ()
    """Auto Scaling group names to alarm on when in-service capacity stays below desired
    (the groups must collect group metrics). Default: none."""
    capacity_shortfall_minutes: int = Field(default=30, ge=5, le=1440)
    """Minutes a group may stay below its desired capacity before the alarm: a new
    instance is only in service once its node is ready. Default: 30."""
    health_checks: tuple[HealthCheckWatch, ...] = ()
    """Route53 health checks to alarm on; needs the ``us_east_1_provider``. Default: none."""
    budget: BudgetConfig | None = None
    """A monthly cost budget. Default: none."""
    canary: CanaryConfig | None = None
    """The synthetic WebSocket check. Default: none."""
    grafana_workspace: bool = False
    """Create an Amazon Managed Grafana workspace (AWS IAM Identity Center sign-in) with
    this workspace and CloudWatch as data sources. Default: false."""
    node_tag_key: str = "substrate:monitoring"
    """Instances tagged ``<node_tag_key>=<name>`` receive the workspace's remote_write URL
    (an SSM State Manager association): nodes built with ``Monitoring.agent_config()``
    carry that tag, nodes of other monitorings (other apps, chains or regions) do not.
    Default: ``substrate:monitoring``."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"must be 2-{MONITORING_NAME_MAX} lowercase letters, digits or '-', starting with a letter")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"CloudWatch Logs accepts only {', '.join(map(str, LOG_RETENTION_DAYS))} days")
        return value

    @field_validator("expected_nodes")
    @classmethod
    def _nodes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [n for n in value if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", n)]
        if bad:
            raise ValueError(f"{bad} are not node names (letters, digits, '._-'; spaces become '_')")
        return tuple(dict.fromkeys(value))

    @field_validator("node_tag_key")
    @classmethod
    def _tag(cls, value: str) -> str:
        if not _TAG_KEY.match(value):
            raise ValueError(f"{value!r} is not a tag key")
        if len(value) > 124:
            raise ValueError("must be at most 124 characters: the association targets 'tag:<key>', 128 at most")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> "MonitoringConfig":
        for field in ("load_balancers", "health_checks"):
            names = [item.name for item in getattr(self, field)]
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ConfigError.of(field, f"names must be unique; repeated: {duplicates}")
        return self

    @property
    def log_group_name(self) -> str:
        """Where nodes' journals go."""
        return f"/substrate/{self.name}/journal"
