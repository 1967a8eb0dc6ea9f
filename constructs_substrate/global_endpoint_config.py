"""Configuration of a chain's global endpoint: names, regions, routing policy and the
failover budget. See :mod:`constructs_substrate.global_endpoint` for the construct and
``docs/global-endpoints.md`` for the design."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from ._model import Model
from .domains import check_domain, is_within
from .errors import ConfigError, Problem
from .regions import CONTINENTS, REGION_CONTINENT, check_regions


class GlobalEndpointConfig(Model):
    """Names, regions and routing of one chain's global endpoint."""

    chain: str = Field(pattern=r"^[a-z][a-z0-9-]{1,40}$", examples=["polkadot"])
    """Chain name, the first label of the global name (``polkadot``)."""
    domain: str
    """Parent domain: the global name is ``<chain>.<domain>``."""
    zone_name: str
    """Apex of the Route53 hosted zone; every name must be inside it."""
    regions: tuple[str, ...] = Field(min_length=1)
    """Regions serving the chain, each with a cluster. The first is the default region."""
    policy: Literal["geolocation", "latency"] = "geolocation"
    """Routing policy. Default: geolocation."""
    continents: dict[str, tuple[str, ...]] = {}
    """Geolocation: region → continent codes it serves (AF, AN, AS, EU, NA, OC, SA).
    Default: each region serves its own continent."""
    default_region: str | None = None
    """Geolocation: region answering locations no continent record matches (the ``*``
    record). Default: the first region. ``""`` disables it (then every continent must
    be mapped)."""
    regional_name_style: Literal["dash", "dot"] = "dash"
    """Regional names: ``<chain>-<region>.<domain>`` (dash) or ``<region>.<chain>.<domain>``
    (dot). Default: dash (one level below the domain, so one wildcard-free cert per region)."""
    record_ttl_seconds: int = Field(default=20, ge=5, le=300)
    """TTL of the routed records. Default: 20 s."""
    health_check_interval_seconds: Literal[10, 30] = 10
    """Route53 health check interval (10 = fast checks). Default: 10."""
    health_check_failure_threshold: int = Field(default=2, ge=1, le=10)
    """Consecutive failures before a region is unhealthy. Default: 2."""
    health_check_path: str = Field(default="/ready", pattern=r"^/[A-Za-z0-9/._-]*$")
    """Regional readiness path (served by the cluster's ALB from the readiness probes).
    Default: ``/ready``."""
    max_failover_seconds: int = Field(default=60, ge=10)
    """Upper bound for the worst-case failover time; a config above it is refused. Default: 60."""

    _domain = field_validator("domain", "zone_name")(lambda cls, v: check_domain(v))

    _regions = field_validator("regions")(lambda cls, v: check_regions(v))

    @model_validator(mode="after")
    def _checks(self) -> "GlobalEndpointConfig":
        problems: list[Problem] = []
        if not is_within(self.domain, self.zone_name):
            problems.append(Problem("domain", f"{self.domain} is outside the hosted zone {self.zone_name}"))
        for region, codes in self.continents.items():
            if region not in self.regions:
                problems.append(Problem("continents", f"{region} is not one of regions {list(self.regions)}"))
            bad = [c for c in codes if c not in CONTINENTS]
            if bad:
                problems.append(Problem("continents", f"{bad} are not continent codes {list(CONTINENTS)}"))
        if self.default_region and self.default_region not in self.regions:
            problems.append(Problem("default_region", f"{self.default_region} is not one of regions {list(self.regions)}"))
        if self.policy == "geolocation" and not self.effective_default_region:
            served = {c for codes in self.continent_map.values() for c in codes}
            missing = [c for c in CONTINENTS if c not in served]
            if missing:
                problems.append(Problem(
                    "continents",
                    f"continents {missing} have no region and there is no default record; "
                    "map them or set default_region",
                ))
        if self.failover_seconds > self.max_failover_seconds:
            problems.append(Problem(
                "record_ttl_seconds",
                f"worst-case failover {self.failover_seconds} s (interval x threshold + TTL) exceeds "
                f"max_failover_seconds={self.max_failover_seconds}; lower the TTL or the threshold",
            ))
        if problems:
            raise ConfigError(problems)
        return self

    @property
    def effective_default_region(self) -> str | None:
        if self.default_region is None:
            return self.regions[0]
        return self.default_region or None

    @property
    def continent_map(self) -> dict[str, tuple[str, ...]]:
        if self.continents:
            return dict(self.continents)
        mapping: dict[str, list[str]] = {}
        for region in self.regions:
            continent = REGION_CONTINENT[region]
            # Two regions on one continent: the first listed serves it (a geolocation
            # location can only have one record); the other still has its regional name.
            if not any(continent in codes for codes in mapping.values()):
                mapping.setdefault(region, []).append(continent)
        return {region: tuple(codes) for region, codes in mapping.items()}

    @property
    def global_name(self) -> str:
        return f"{self.chain}.{self.domain}"

    def regional_name(self, region: str) -> str:
        if self.regional_name_style == "dot":
            return f"{region}.{self.chain}.{self.domain}"
        return f"{self.chain}-{region}.{self.domain}"

    @property
    def nearest_name(self) -> str:
        """Geolocation: the internal latency-routed name over every region (each answer
        health-checked), which a failover pair falls back to."""
        return f"nearest.routing.{self.global_name}"

    def failover_name(self, region: str) -> str:
        """Geolocation: the internal failover pair of ``region`` (the region while its
        health check passes, else :attr:`nearest_name`), which its location records alias."""
        return f"{region}.routing.{self.global_name}"

    @property
    def failover_seconds(self) -> int:
        """Worst case: the health checks need interval x threshold to mark a region
        unhealthy, then resolvers may keep the old answer for one TTL."""
        return self.health_check_interval_seconds * self.health_check_failure_threshold + self.record_ttl_seconds
