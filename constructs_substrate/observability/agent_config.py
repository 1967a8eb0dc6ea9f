"""Typed configuration of the observability agents every node runs (:class:`AgentConfig`).

Metrics: Prometheus in agent mode scrapes the node, node_exporter and the readiness
probe on localhost and ships samples by remote_write, to Amazon Managed Service for
Prometheus (SigV4, the instance role) or to any remote_write endpoint (basic auth).
Logs: Fluent Bit reads journald and writes to CloudWatch Logs, Loki or OpenSearch.
Framework-free (pydantic only); every field documents its default.
"""

from __future__ import annotations

import re
from typing import Literal, Union

from pydantic import Field, field_validator

from .._model import Model

AMP_URL = re.compile(
    r"^https://aps-workspaces\.(?P<region>[a-z]{2}(-[a-z]+)+-[0-9])\.amazonaws\.com"
    r"/workspaces/ws-[A-Za-z0-9-]{1,64}/api/v1/remote_write$"
)
"""An Amazon Managed Service for Prometheus remote_write URL; the region is signed for."""
_HTTPS_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%/+=&?:@,-]*)?$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))+$")
_ABS_PATH = re.compile(r"^/[A-Za-z0-9._/-]+$")
_LOG_GROUP = re.compile(r"^[A-Za-z0-9_./#-]{1,512}$")
_UNIT = re.compile(r"^[A-Za-z0-9@._-]+\.(service|scope|socket|timer)$")
_TAG_KEY = re.compile(r"^[A-Za-z0-9 _.:/=+@-]{1,128}$")
_TAG_VALUE = re.compile(r"^[A-Za-z0-9 _.:/=+@-]{0,256}$")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9._:/-]{1,128}$")

DEFAULT_JOURNAL_UNITS = (
    "substrate-node.service",
    "substrate-install.service",
    "substrate-probe.service",
    "cloud-final.service",
    "prometheus.service",
    "nginx.service",
    "certbot.service",
    "docker.service",
)
"""Units whose journal is shipped: the node, its install and probe, the bootstrap
(cloud-init's final stage prints its log), the metrics agent, nginx/certbot (TLS
nodes) and docker (telemetry). Not Fluent Bit's own unit, so a failing output cannot
feed itself."""


def _https(value: str) -> str:
    if not _HTTPS_URL.match(value):
        raise ValueError(f"{value!r} must be an https:// URL without spaces or quotes")
    return value


class AmpRemoteWrite(Model):
    """Amazon Managed Service for Prometheus: remote_write signed with SigV4 by the
    instance role (which needs ``aps:RemoteWrite`` on the workspace, see
    :func:`~constructs_substrate.observability.iam.agent_statements`)."""

    kind: Literal["amp"] = "amp"
    """Discriminator. Default: ``amp``."""
    url: str | None = None
    """The workspace's remote_write URL
    (``https://aps-workspaces.<region>.amazonaws.com/workspaces/ws-.../api/v1/remote_write``).
    Default: none: the URL is read at boot from ``url_file``, where the Monitoring
    construct's SSM association writes it (a workspace created in the same deploy has
    no id yet when the user data is rendered)."""
    url_file: str = "/etc/substrate/observability/remote-write-url"
    """Where the URL is read from when ``url`` is not set. Default:
    ``/etc/substrate/observability/remote-write-url``."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not AMP_URL.match(value):
            raise ValueError(
                f"{value!r} is not an AMP remote_write URL like 'https://aps-workspaces.eu-central-1"
                ".amazonaws.com/workspaces/ws-0123.../api/v1/remote_write'; use BasicAuthRemoteWrite "
                "for other endpoints"
            )
        return value

    _file = field_validator("url_file")(lambda cls, v: _path(v))


class BasicAuthRemoteWrite(Model):
    """Any Prometheus remote_write endpoint (Mimir, Grafana Cloud, VictoriaMetrics,
    Thanos receive...) with HTTP basic auth. The password is read from a file you put
    on the host (e.g. with your secrets tooling); it never enters Terraform state."""

    kind: Literal["basic_auth"] = "basic_auth"
    """Discriminator. Default: ``basic_auth``."""
    url: str
    """The remote_write URL (https)."""
    username: str = Field(pattern=r"^[A-Za-z0-9._@+-]{1,128}$", examples=["123456"])
    """Basic auth user name."""
    password_file: str = "/etc/substrate/observability/remote-write-password"
    """File holding the password, readable by the ``prometheus`` user. Default:
    ``/etc/substrate/observability/remote-write-password``."""

    _url = field_validator("url")(lambda cls, v: _https(v))
    _file = field_validator("password_file")(lambda cls, v: _path(v))


class CloudWatchLogs(Model):
    """CloudWatch Logs: one log stream per instance and unit in one log group (the
    instance role needs ``logs:CreateLogStream``/``PutLogEvents`` on it)."""

    kind: Literal["cloudwatch"] = "cloudwatch"
    """Discriminator. Default: ``cloudwatch``."""
    log_group_name: str
    """An existing log group (the Monitoring construct creates one, encrypted, with
    retention). Fluent Bit never creates groups, so retention and encryption stay yours."""

    @field_validator("log_group_name")
    @classmethod
    def _group(cls, value: str) -> str:
        if not _LOG_GROUP.match(value):
            raise ValueError(f"{value!r} is not a log group name (letters, digits, '_./#-', up to 512)")
        return value


class LokiLogs(Model):
    """Grafana Loki (push API over HTTPS). Labels: ``job``, ``network``, ``role``,
    ``node``, ``instance`` and ``unit``."""

    kind: Literal["loki"] = "loki"
    """Discriminator. Default: ``loki``."""
    host: str
    """Loki host name (TLS on ``port``)."""
    port: int = Field(default=443, ge=1, le=65535)
    """Loki HTTPS port. Default: 443."""
    username: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._@+-]{1,128}$", examples=["123456"])
    """Basic auth user (e.g. a Grafana Cloud tenant id); the password is read from the
    environment variable ``LOKI_PASSWORD`` in ``/etc/substrate/observability/loki.env``,
    which you provision. Default: no authentication."""

    _host = field_validator("host")(lambda cls, v: _hostname(v))


class OpenSearchLogs(Model):
    """Amazon OpenSearch Service (or Elasticsearch/OpenSearch) over HTTPS; with
    ``aws_auth`` requests are SigV4-signed by the instance role (``es:ESHttpPost`` on
    the domain, see :func:`~constructs_substrate.observability.iam.agent_statements`)."""

    kind: Literal["opensearch"] = "opensearch"
    """Discriminator. Default: ``opensearch``."""
    host: str
    """Domain endpoint host name, e.g. ``search-logs-abc.eu-central-1.es.amazonaws.com``."""
    port: int = Field(default=443, ge=1, le=65535)
    """HTTPS port. Default: 443."""
    index: str = Field(default="substrate-journal", pattern=r"^[a-z0-9][a-z0-9_.-]{0,200}$")
    """Index written to. Default: ``substrate-journal``."""
    aws_auth: bool = True
    """Sign requests with SigV4 (Amazon OpenSearch Service). Default: true."""

    _host = field_validator("host")(lambda cls, v: _hostname(v))


MetricsDestination = Union[AmpRemoteWrite, BasicAuthRemoteWrite]
LogsDestination = Union[CloudWatchLogs, LokiLogs, OpenSearchLogs]


class AgentConfig(Model):
    """What a node ships and where. Build it by hand, or take
    ``Monitoring.agent_config()``, which points at the Monitoring's workspace and log
    group."""

    metrics: MetricsDestination = Field(default_factory=AmpRemoteWrite, discriminator="kind")
    """Where metrics go. Default: :class:`AmpRemoteWrite` with the URL delivered at boot."""
    logs: LogsDestination | None = Field(default=None, discriminator="kind")
    """Where the journal goes. Default: nowhere (no Fluent Bit installed)."""
    scrape_interval_seconds: int = Field(default=30, ge=5, le=300)
    """How often every target is scraped. Default: 30 (AMP bills per sample; 30 s
    keeps the 1-2 minute alert windows meaningful)."""
    journal_units: tuple[str, ...] = DEFAULT_JOURNAL_UNITS
    """Units whose journal entries are shipped (only their ``MESSAGE``; nginx access logs,
    which hold client addresses and request lines, are files and never shipped).
    Default: the node, install, probe, bootstrap, agent, nginx, certbot and docker units."""
    prometheus_package_version: str = Field(default="2.45.3+ds-*", pattern=r"^[0-9][A-Za-z0-9.+~*-]*$")
    """Version of Ubuntu 24.04's ``prometheus`` package (an apt version pattern).
    Default: ``2.45.3+ds-*`` (Prometheus 2.45 LTS with Ubuntu's security updates)."""
    fluent_bit_version: str = Field(default="4.2.2", pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")
    """Fluent Bit version from its signed apt repository. Default: ``4.2.2``."""
    instance_tags: dict[str, str] = {}
    """EC2 tags that :class:`~constructs_substrate.SubstrateNode` and
    :class:`~constructs_substrate.cluster.AutoscalingApiCluster` put on every instance
    running these agents. ``Monitoring.agent_config()`` sets
    ``{"substrate:monitoring": <its name>}``: the Monitoring's SSM association hands its
    remote_write URL to the instances with that tag only. Default: none."""

    @field_validator("instance_tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k, v in value.items() if not _TAG_KEY.match(k) or k.startswith("aws:") or not _TAG_VALUE.match(v)]
        if bad:
            raise ValueError(f"{bad}: EC2 tag keys are 1-128 and values 0-256 letters, digits, spaces or '_.:/=+-@', "
                             "keys not starting with 'aws:'")
        return dict(sorted(value.items()))

    @field_validator("journal_units")
    @classmethod
    def _units(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [unit for unit in value if not _UNIT.match(unit)]
        if bad:
            raise ValueError(f"{bad} are not systemd unit names like 'substrate-node.service'")
        if "fluent-bit.service" in value:
            raise ValueError("must not include fluent-bit.service: a failing output would feed itself")
        return tuple(dict.fromkeys(value))


def _hostname(value: str) -> str:
    if not _HOST.match(value):
        raise ValueError(f"{value!r} is not a host name like 'logs.example.com'")
    return value


def _path(value: str) -> str:
    if not _ABS_PATH.match(value):
        raise ValueError(f"{value!r} must be an absolute path of letters, digits and '._/-'")
    return value


def label_value(value: str) -> str:
    """Check a label value rendered into agent configs (node names are validated by
    ``NodeConfig``; this guards the rest)."""
    if not _LABEL_VALUE.match(value):
        raise ValueError(f"{value!r} is not usable as a label value")
    return value
