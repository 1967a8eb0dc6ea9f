"""``GlobalEndpoint``: one public name per chain served from several regions.

``<chain>.<domain>`` answers with the regional ALB chosen by the client's location
(geolocation) or by latency. Every answer is a CNAME carrying a Route53 health check
on its region's readiness path, so a region whose nodes are not ready drops out.

Geolocation is a small record tree so that every location keeps a healthy answer on
any single-region failure (docs/global-endpoints.md has the per-continent table that
tests/synth/test_georouting_failover.py computes from these records):

- ``<chain>.<domain>``: one geolocation alias per mapped continent, plus ``*`` (the
  default region), each to its region's failover pair;
- ``<region>.routing.<chain>.<domain>``: PRIMARY the region's CNAME, SECONDARY an
  alias to ``nearest.routing.<chain>.<domain>``;
- ``nearest.routing.<chain>.<domain>``: one latency CNAME per region.

Aliases answer with their target's TTL. The secondary evaluates the nearest set's
health; the location records do not (their pair always answers). When every health
check fails (a chain-wide stall), each pair answers with its primary, as Route53
documents for a failover pair with two unhealthy records, so each location keeps its
usual region (whose ALB fails open).

Why CNAME records with a short TTL instead of aliases to the ALBs: Route53 serves
alias records to ALBs with a fixed 60 s TTL, which alone uses the whole failover
budget. A CNAME's TTL is ours to set; the regional ALB name it points to never
changes, so only the CNAME choice has to expire. Worst-case failover is
``health_check_interval x failure_threshold + record_ttl`` (10 x 2 + 20 = 40 s by
default) on every path of the tree, checked against ``max_failover_seconds``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from . import arguments
from ._framework import Construct, TerraformOutput, aws, is_token
from .errors import ConfigError, Problem
from .global_endpoint_config import GlobalEndpointConfig

_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,32}$")


@dataclass(frozen=True)
class RegionalTarget:
    """Where a region's traffic goes: its ALB's DNS name (may be a cross-stack reference),
    e.g. ``RegionalTarget(cluster.load_balancer.load_balancer.dns_name)``."""

    alb_dns_name: str

    def __post_init__(self) -> None:
        if not isinstance(self.alb_dns_name, str) or not self.alb_dns_name:
            raise ConfigError.of(
                "alb_dns_name", "must be the ALB's DNS name, e.g. cluster.load_balancer.load_balancer.dns_name "
                f"or 'my-alb-123.eu-central-1.elb.amazonaws.com', not {self.alb_dns_name!r}", "RegionalTarget",
            )


def _argument_problems(config, hosted_zone_id, targets) -> list[Problem]:
    problems = arguments.of_type(config, GlobalEndpointConfig, "config", "a constructs_substrate.GlobalEndpointConfig")
    if not (isinstance(hosted_zone_id, str) and (is_token(hosted_zone_id) or _ZONE_ID.match(hosted_zone_id))):
        problems.append(Problem(
            "hosted_zone_id", f"must be a Route53 hosted zone id like 'Z0123456789ABCDEFGHIJ', not {hosted_zone_id!r}",
        ))
    if not isinstance(targets, Mapping):
        problems.append(Problem(
            "targets", "must map each region to a RegionalTarget, e.g. "
            f"{{'eu-central-1': RegionalTarget(alb_dns_name)}}, not {type(targets).__name__} {targets!r}",
        ))
        return problems
    problems += [
        Problem(f"targets.{region}", f"must be a RegionalTarget(alb_dns_name), not {type(target).__name__} {target!r}")
        for region, target in targets.items() if not isinstance(target, RegionalTarget)
    ]
    if isinstance(config, GlobalEndpointConfig):
        missing = [r for r in config.regions if r not in targets]
        extra = [r for r in targets if r not in config.regions]
        if missing or extra:
            problems.append(Problem(
                "targets", f"need exactly one target per region of config.regions; missing {missing}, unexpected {extra}",
            ))
    return problems


class GlobalEndpoint(Construct):
    """Health checks and routed records for one chain across regions.

    Attributes: ``health_checks`` and ``records`` (dicts keyed by region / set identifier),
    ``config``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: GlobalEndpointConfig,
        hosted_zone_id: str,
        targets: Mapping[str, RegionalTarget],
        provider=None,
    ) -> None:
        problems = _argument_problems(config, hosted_zone_id, targets)
        if problems:
            raise ConfigError(problems, "GlobalEndpoint")
        super().__init__(scope, id)
        self.config = config
        self.health_checks: dict[str, object] = {}
        self.records: dict[str, object] = {}
        health_check = aws("route53_health_check").Route53HealthCheck
        records = aws("route53_record")
        record = records.Route53Record
        for region in config.regions:
            name = config.regional_name(region)
            self.health_checks[region] = health_check(
                self, f"health-{region}", type="HTTPS", fqdn=name, port=443,
                resource_path=config.health_check_path, enable_sni=True,
                request_interval=config.health_check_interval_seconds,
                failure_threshold=config.health_check_failure_threshold,
                tags={"Name": f"{config.global_name} {region}"}, provider=provider,
            )

        def cname(identifier: str, name: str, region: str, **policy):
            """A routed CNAME to the region's ALB, health-checked on that region."""
            self.records[identifier] = record(
                self, f"record-{identifier}", zone_id=hosted_zone_id, name=name,
                type="CNAME", ttl=config.record_ttl_seconds, records=[targets[region].alb_dns_name],
                set_identifier=identifier, health_check_id=self.health_checks[region].id,
                provider=provider, **policy,
            )
            return self.records[identifier]

        def alias(identifier: str, name: str, target: str, depends_on: list, *, evaluate: bool, **policy):
            """A routed alias to the record group ``target`` in this zone (it answers with
            their TTL); with ``evaluate``, healthy only while that group can answer with a
            healthy record."""
            self.records[identifier] = record(
                self, f"record-{identifier}", zone_id=hosted_zone_id, name=name, type="CNAME",
                alias=records.Route53RecordAlias(name=target, zone_id=hosted_zone_id, evaluate_target_health=evaluate),
                set_identifier=identifier, depends_on=depends_on, provider=provider, **policy,
            )
            return self.records[identifier]

        if config.policy == "latency":
            for region in config.regions:
                cname(region, config.global_name, region, latency_routing_policy={"region": region})
        else:
            # Every region: <nearest> answers with the lowest-latency healthy region.
            nearest = [
                cname(f"nearest-{region}", config.nearest_name, region, latency_routing_policy={"region": region})
                for region in config.regions
            ]
            # Every region that serves locations: <region>.<routing> answers with the
            # region while it is healthy, else with <nearest>.
            served = sorted({*config.continent_map, *filter(None, [config.effective_default_region])},
                            key=config.regions.index)
            pairs = {}
            for region in served:
                name = config.failover_name(region)
                primary = cname(f"{region}-primary", name, region, failover_routing_policy={"type": "PRIMARY"})
                # Evaluated: with every region down the pair has no healthy record and
                # answers with its primary (documented), not with a random nearest one.
                secondary = alias(f"{region}-secondary", name, config.nearest_name, nearest, evaluate=True,
                                  failover_routing_policy={"type": "SECONDARY"})
                pairs[region] = [primary, secondary]
            # The public name: location -> its region's failover pair. Not evaluated: the
            # pair always has an answer, so a location never depends on the geolocation
            # fallback to ``*`` or on geolocation's last-resort mode.
            for region, codes in sorted(config.continent_map.items()):
                for code in codes:
                    alias(f"{region}-{code}", config.global_name, config.failover_name(region), pairs[region],
                          evaluate=False, geolocation_routing_policy={"continent": code})
            default = config.effective_default_region
            if default:
                alias(f"{default}-default", config.global_name, config.failover_name(default), pairs[default],
                      evaluate=False, geolocation_routing_policy={"country": "*"})

        TerraformOutput(self, "global_name", value=config.global_name, description="global endpoint name")
        TerraformOutput(self, "failover_seconds", value=config.failover_seconds,
                        description="worst-case failover: interval x threshold + TTL")
