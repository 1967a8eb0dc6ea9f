"""``GlobalEndpoint``: one public name per chain served from several regions.

``<chain>.<domain>`` answers with the regional ALB chosen by the client's location
(geolocation: continent → region, plus a default ``*`` record) or by latency. Every
answer carries a Route53 health check on the region's readiness path, so a region
whose nodes are not ready drops out of the answers.

Why CNAME records with a short TTL instead of alias records: Route53 serves alias
records to ALBs with a fixed 60 s TTL, which alone uses the whole failover budget.
A CNAME's TTL is ours to set; the regional ALB name it points to never changes, so
only the CNAME choice has to expire. Worst-case failover is
``health_check_interval x failure_threshold + record_ttl`` (10 x 2 + 20 = 40 s by
default), checked against ``max_failover_seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from ._framework import Construct, TerraformOutput, aws
from .errors import ConfigError
from .global_endpoint_config import GlobalEndpointConfig


@dataclass(frozen=True)
class RegionalTarget:
    """Where a region's traffic goes: its ALB's DNS name (may be a cross-stack reference)."""

    alb_dns_name: str


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
        missing = [r for r in config.regions if r not in targets]
        extra = [r for r in targets if r not in config.regions]
        if missing or extra:
            raise ConfigError.of(
                "targets", f"need exactly one target per region; missing {missing}, unexpected {extra}",
                "GlobalEndpoint",
            )
        super().__init__(scope, id)
        self.config = config
        self.health_checks: dict[str, object] = {}
        self.records: dict[str, object] = {}
        health_check = aws("route53_health_check").Route53HealthCheck
        record = aws("route53_record").Route53Record
        for region in config.regions:
            name = config.regional_name(region)
            self.health_checks[region] = health_check(
                self, f"health-{region}", type="HTTPS", fqdn=name, port=443,
                resource_path=config.health_check_path, enable_sni=True,
                request_interval=config.health_check_interval_seconds,
                failure_threshold=config.health_check_failure_threshold,
                tags={"Name": f"{config.global_name} {region}"}, provider=provider,
            )

        def routed(identifier: str, region: str, **policy) -> None:
            self.records[identifier] = record(
                self, f"record-{identifier}", zone_id=hosted_zone_id, name=config.global_name,
                type="CNAME", ttl=config.record_ttl_seconds, records=[targets[region].alb_dns_name],
                set_identifier=identifier, health_check_id=self.health_checks[region].id,
                provider=provider, **policy,
            )

        if config.policy == "latency":
            for region in config.regions:
                routed(region, region, latency_routing_policy={"region": region})
        else:
            for region, codes in sorted(config.continent_map.items()):
                for code in codes:
                    routed(f"{region}-{code}", region, geolocation_routing_policy={"continent": code})
            default = config.effective_default_region
            if default:
                routed(f"{default}-default", default, geolocation_routing_policy={"country": "*"})

        TerraformOutput(self, "global_name", value=config.global_name, description="global endpoint name")
        TerraformOutput(self, "failover_seconds", value=config.failover_seconds,
                        description="worst-case failover: interval x threshold + TTL")
