"""Deployment settings for the example apps: a small JSON file plus environment
overrides, so a user deploys without editing code.

Resolution order for each value: environment variable, then the settings file
(``$SUBSTRATE_SETTINGS``, default ``substrate.settings.json`` in the project root,
optional), then the default documented on the field.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from ._model import Model, scalar_kind
from .chains import check_release_tag
from .domains import check_domain, check_email, is_within
from .errors import ConfigError
from .regions import check_region, check_regions

SETTINGS_ENV = "SUBSTRATE_SETTINGS"
DEFAULT_SETTINGS_FILE = "substrate.settings.json"

_ENV = {
    "domain": "SUBSTRATE_DOMAIN",
    "zone_name": "SUBSTRATE_ZONE_NAME",
    "hosted_zone_id": "SUBSTRATE_ZONE_ID",
    "regions": "SUBSTRATE_REGIONS",
    "acme_email": "SUBSTRATE_ACME_EMAIL",
    "alert_email": "SUBSTRATE_ALERT_EMAIL",
    "validators": "SUBSTRATE_VALIDATORS",
    "rpc_min_size": "SUBSTRATE_RPC_MIN",
    "rpc_max_size": "SUBSTRATE_RPC_MAX",
    "routing_policy": "SUBSTRATE_ROUTING",
    "telemetry_backend_image": "SUBSTRATE_TELEMETRY_BACKEND_IMAGE",
    "telemetry_frontend_image": "SUBSTRATE_TELEMETRY_FRONTEND_IMAGE",
    "monthly_budget_usd": "SUBSTRATE_MONTHLY_BUDGET_USD",
    "cost_tag_owner": "SUBSTRATE_COST_TAG_OWNER",
    "status_page_repository": "SUBSTRATE_STATUS_REPO",
    "state_bucket": "SUBSTRATE_STATE_BUCKET",
    "state_region": "SUBSTRATE_STATE_REGION",
    "state_key_prefix": "SUBSTRATE_STATE_KEY_PREFIX",
    "release": "SUBSTRATE_RELEASE",
}

STATE_FIELDS = ("state_bucket", "state_region", "state_key_prefix")
"""The settings that choose where Terraform state lives (see :mod:`constructs_substrate.stacks`)."""

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_KEY_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$")


def check_bucket_name(value: str) -> str:
    """An S3 general purpose bucket name, by AWS's naming rules, or ``ValueError``."""
    problem = None
    if not _BUCKET.match(value):
        problem = "use 3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit"
    elif ".." in value:
        problem = "two adjacent dots are not allowed"
    elif value.startswith(_BUCKET_RESERVED_PREFIXES) or value.endswith(_BUCKET_RESERVED_SUFFIXES):
        problem = "it uses a prefix or suffix AWS reserves (xn--, sthree-, amzn-s3-demo-, -s3alias, --ol-s3, .mrap, --x-s3, --table-s3)"
    else:
        try:
            ipaddress.IPv4Address(value)
            problem = "a bucket name may not look like an IP address"
        except ValueError:
            pass
    if problem:
        raise ValueError(f"{value!r} is not an S3 bucket name: {problem}, e.g. 'example-org-terraform-state'")
    return value


class DeploymentSettings(Model):
    """What differs between one operator's deployment and another's."""

    domain: str = "example.com"
    """Parent domain of every endpoint (``polkadot.<domain>``). Env ``SUBSTRATE_DOMAIN``.
    Default: ``example.com`` (synthesizes; set your own domain to deploy)."""
    zone_name: str | None = None
    """Name of the Route53 hosted zone that holds ``domain`` (the apex of the zone).
    Env ``SUBSTRATE_ZONE_NAME``. Default: ``domain``."""
    hosted_zone_id: str | None = None
    """Id of that hosted zone. Env ``SUBSTRATE_ZONE_ID``. Default: looked up by
    ``zone_name`` in the account at deploy time (the public zone must exist)."""
    regions: tuple[str, ...] = ("eu-central-1", "us-east-1", "ap-southeast-1")
    """Regions with an RPC cluster; the first is the default for unmatched locations
    and hosts validators. Env ``SUBSTRATE_REGIONS`` (comma-separated).
    Default: eu-central-1, us-east-1, ap-southeast-1."""
    routing_policy: str = "geolocation"
    """``geolocation`` (continent to region, default record ``*``) or ``latency``.
    Env ``SUBSTRATE_ROUTING``. Default: geolocation."""
    acme_email: str = "hostmaster@example.com"
    """E-mail for Let's Encrypt (the telemetry node's certificate). Env
    ``SUBSTRATE_ACME_EMAIL``. Default: ``hostmaster@<domain>`` when domain is set."""
    alert_email: str | None = None
    """E-mail subscribed to alerts. Env ``SUBSTRATE_ALERT_EMAIL``. Default: none."""
    release: str | None = None
    """polkadot-sdk release tag the apps' nodes run, e.g. ``polkadot-stable2606-2``
    (upgrade one app first: ``SUBSTRATE_RELEASE=... python apps/kusama.py``). Env
    ``SUBSTRATE_RELEASE``. Default: the library's pin (``chains.POLKADOT_SDK_RELEASE``)."""
    validators: int = Field(default=1, ge=0, le=20)
    """Validators per relay-chain app (in the first region). Env ``SUBSTRATE_VALIDATORS``.
    Default: 1."""
    rpc_min_size: int = Field(default=2, ge=1, le=100)
    """Minimum RPC nodes per region. Env ``SUBSTRATE_RPC_MIN``. Default: 2."""
    rpc_max_size: int = Field(default=6, ge=1, le=500)
    """Maximum RPC nodes per region. Env ``SUBSTRATE_RPC_MAX``. Default: 6."""
    telemetry_backend_image: str | None = None
    """substrate-telemetry backend image pinned by digest; with the frontend image it
    adds a telemetry node. Env ``SUBSTRATE_TELEMETRY_BACKEND_IMAGE``. Default: none."""
    telemetry_frontend_image: str | None = None
    """substrate-telemetry frontend image pinned by digest. Env
    ``SUBSTRATE_TELEMETRY_FRONTEND_IMAGE``. Default: none."""
    monthly_budget_usd: int | None = Field(default=None, ge=1)
    """Monthly AWS cost budget per app, alerting at 80% and 100% (actual) and 100%
    (forecast), counting the costs tagged ``chain=<the app's chain>``. Env
    ``SUBSTRATE_MONTHLY_BUDGET_USD``. Default: the app's own cost estimate x 1.2,
    rounded up to $100 (``constructs_substrate.cost``)."""
    cost_tag_owner: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]{0,63}$", examples=["polkadot"])
    """The chain whose app activates the ``chain`` cost allocation tag, which every
    app's budget filters on (account-wide, one owner: destroying the owner's global
    stack deactivates it for all apps). Set it once the key shows up in the Billing
    console (up to 24 h after the first deploy; activation fails before), in the
    management account. Env ``SUBSTRATE_COST_TAG_OWNER``. Default: none (activate the
    key in the Billing console yourself; until then budgets count nothing)."""

    status_page_repository: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$", examples=["acme/status"])
    """GitHub ``owner/repo`` of the Upptime status page; apps then write
    ``cdktf.out/.upptimerc.yml`` listing every public endpoint. Env
    ``SUBSTRATE_STATUS_REPO``. Default: none (no status page config)."""
    state_bucket: str | None = None
    """S3 bucket that holds the Terraform state of every stack (create it first, in
    ``state_region``, with versioning on). State is encrypted (``encrypt``) and locked
    with an S3 lock file (``use_lockfile``, Terraform >= 1.10). Env
    ``SUBSTRATE_STATE_BUCKET``. Default: none (local state files
    ``terraform.<stack>.tfstate`` in the project directory)."""
    state_region: str = "us-east-1"
    """Region of ``state_bucket``: the backend of every stack, whatever region the stack
    deploys to, uses this one. Env ``SUBSTRATE_STATE_REGION``. Default: us-east-1."""
    state_key_prefix: str = ""
    """Folder of the state objects in ``state_bucket``: each stack's state is
    ``<prefix>/<stack>.tfstate`` (``<stack>.tfstate`` without a prefix). Env
    ``SUBSTRATE_STATE_KEY_PREFIX``. Default: none."""

    _domain = field_validator("domain")(lambda cls, v: check_domain(v))
    _emails = field_validator("acme_email", "alert_email")(lambda cls, v: None if v is None else check_email(v))
    _release = field_validator("release")(lambda cls, v: None if v is None else check_release_tag(v))

    @field_validator("zone_name")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else check_domain(value)

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("give at least one region")
        return check_regions(value)

    @field_validator("state_bucket")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        return None if value is None else check_bucket_name(value)

    @field_validator("state_region")
    @classmethod
    def _state_region(cls, value: str) -> str:
        return check_region(value)

    @field_validator("state_key_prefix")
    @classmethod
    def _key_prefix(cls, value: str) -> str:
        if value and (len(value) > 512 or not _KEY_PREFIX.match(value)):
            raise ValueError(
                f"{value!r} is not a key prefix: use '/'-separated parts of letters, digits and "
                "!_.*'()- without a leading or trailing '/', e.g. 'substrate/prod'"
            )
        return value

    @field_validator("routing_policy")
    @classmethod
    def _policy(cls, value: str) -> str:
        if value not in ("geolocation", "latency"):
            raise ValueError("must be 'geolocation' or 'latency'")
        return value

    @model_validator(mode="after")
    def _checks(self) -> "DeploymentSettings":
        if not is_within(self.domain, self.effective_zone_name):
            raise ConfigError.of(
                "domain", f"{self.domain} is not inside the hosted zone {self.effective_zone_name}"
            )
        if self.rpc_min_size > self.rpc_max_size:
            raise ConfigError.of("rpc_min_size", f"{self.rpc_min_size} > rpc_max_size {self.rpc_max_size}")
        if bool(self.telemetry_backend_image) != bool(self.telemetry_frontend_image):
            raise ConfigError.of("telemetry_frontend_image", "set both telemetry images or neither")
        return self

    @property
    def effective_zone_name(self) -> str:
        return self.zone_name or self.domain

    def state_key(self, stack: str) -> str:
        """Key of ``stack``'s state object in ``state_bucket``."""
        return f"{self.state_key_prefix}/{stack}.tfstate" if self.state_key_prefix else f"{stack}.tfstate"

    @property
    def telemetry_enabled(self) -> bool:
        return bool(self.telemetry_backend_image)


_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


def _env_value(field: str, variable: str, raw: str) -> object:
    """An environment variable's text as the field's type: numbers and flags are
    converted here, explicitly (the models take no text for them), lists split at commas."""
    annotation = DeploymentSettings.model_fields[field].annotation
    if "tuple" in str(annotation):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    scalar = scalar_kind(annotation)
    if scalar is None:
        return raw
    kind, example = scalar
    try:
        if kind is bool:
            if raw.lower() not in _TRUE + _FALSE:
                raise ValueError
            return raw.lower() in _TRUE
        return int(raw) if kind is int else float(raw)
    except ValueError:
        what = {int: "a whole number", float: "a number", bool: "true or false"}[kind]
        shown = example if example is not None else "true"
        raise ConfigError.of(
            field, f"{variable}={raw!r} must be {what}, e.g. {variable}={shown}", "DeploymentSettings",
        ) from None


def _from_env(environ: dict[str, str]) -> dict:
    values: dict = {}
    for field, variable in _ENV.items():
        raw = environ.get(variable, "").strip()
        if raw:
            values[field] = _env_value(field, variable, raw)
    return values


def load_settings(root: str | Path = ".", environ: dict[str, str] | None = None) -> DeploymentSettings:
    """Settings from ``$SUBSTRATE_SETTINGS`` (or ``<root>/substrate.settings.json``) and the environment."""
    environ = dict(os.environ if environ is None else environ)
    path = Path(environ.get(SETTINGS_ENV) or Path(root) / DEFAULT_SETTINGS_FILE)
    values: dict = {}
    if path.exists():
        try:
            values = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ConfigError.of(str(path), f"is not valid JSON: {error}") from None
        if not isinstance(values, dict):
            raise ConfigError.of(str(path), "must hold a JSON object of settings")
    elif SETTINGS_ENV in environ:
        raise ConfigError.of(SETTINGS_ENV, f"{path} does not exist")
    values.update(_from_env(environ))
    if "acme_email" not in values and "domain" in values:
        values["acme_email"] = f"hostmaster@{values['domain']}"
    return DeploymentSettings(**values)
