"""A small model of how Route 53 answers a query, used to evaluate synthesized records.

It reads the ``aws_route53_record`` and ``aws_route53_health_check`` resources of a
synthesized Terraform JSON document and answers "what does a resolver on continent X
get for name N while these health checks fail?". It implements only the documented
rules below (each cited), for the routing policies the library emits, and refuses
what it does not model (weighted, geoproximity, IP-based, country/state records),
so a new record shape cannot be evaluated by accident.

Rules (Route 53 Developer Guide):

1. **Healthy record.** A non-alias record with a health check is healthy when its
   check is; a record without a health check is always healthy. An alias record with
   *Evaluate target health* inherits the health of the record group it points to
   (that group can choose a healthy record for this query); without it, the alias
   is healthy (unless it has a health check of its own, which must then pass too).
   health-checks-how-route-53-chooses-records.html, dns-failover-complex-configs.html,
   API AliasTarget.EvaluateTargetHealth.
2. **Geolocation.** The record for the smallest matching location wins; if it is
   unhealthy, the record of the next larger location, then the default (``*``)
   record, if healthy. A location with no record and no default gets no answer.
   routing-policy-geo.html, routing-policy-geo-phz.html ("If the geolocation record
   for the DNS query's region is unhealthy, the default record will be returned (if
   it is healthy)"). The model only knows continent and default records.
3. **Latency.** The healthy record whose region has the lowest latency to the
   resolver. Real latency is measured by AWS; the model ranks regions by a fixed
   continent-to-continent order (``LATENCY_ORDER``, an assumption, not an AWS fact).
   routing-policy-latency.html.
4. **Failover.** The primary when healthy, else the secondary when healthy; if both
   are unhealthy, the primary. health-checks-how-route-53-chooses-records.html.
5. **Last resort.** When no record of a group is healthy, Route 53 considers all of
   them healthy and chooses by the routing policy alone, "rather than returning no
   DNS answer or returning an NXDOMAIN". dns-failover-problems.html (the older
   revision of that page lists "weighted, latency, geolocation routing, and
   failover"), health-checks-how-route-53-chooses-records.html ("If no record is
   healthy, all records are healthy").
   *Conservative choice:* in a geolocation group where some record is healthy but
   none that applies to this location (its record and the default), the model
   answers **nothing**: AWS does not document an answer for that case, so a design
   must not rely on one.
6. **Alias to a record in the zone.** Route 53 "responds as if the query is for the
   record that is referenced by the alias record", with that record's TTL.
   resource-record-sets-choosing-alias-non-alias.html.

URLs: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/<page> for each page
named above; the API reference is
https://docs.aws.amazon.com/Route53/latest/APIReference/API_AliasTarget.html.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

CONTINENTS = ("AF", "AN", "AS", "EU", "NA", "OC", "SA")

LATENCY_ORDER: dict[str | None, tuple[str, ...]] = {
    "AF": ("AF", "EU", "NA", "AS", "SA", "OC"),
    "AN": ("SA", "OC", "AF", "NA", "AS", "EU"),
    "AS": ("AS", "OC", "EU", "NA", "AF", "SA"),
    "EU": ("EU", "NA", "AF", "AS", "SA", "OC"),
    "NA": ("NA", "SA", "EU", "AS", "OC", "AF"),
    "OC": ("OC", "AS", "NA", "EU", "SA", "AF"),
    "SA": ("SA", "NA", "EU", "AF", "AS", "OC"),
    None: ("NA", "EU", "AS", "SA", "OC", "AF"),
}
"""Model assumption: for a resolver on each continent (``None``: an address Route 53
cannot place), the continents of AWS regions from lowest to highest latency."""

_MODELLED = {"geolocation_routing_policy", "latency_routing_policy", "failover_routing_policy"}
_UNMODELLED = {"weighted_routing_policy", "geoproximity_routing_policy", "cidr_routing_policy",
               "multivalue_answer_routing_policy"}


class ModelError(ValueError):
    """The records are outside what the model evaluates, or break a Route 53 rule."""


def _key(reference: str | None, kind: str) -> str | None:
    """``${aws_route53_health_check.<key>.id}`` -> ``<key>``."""
    if reference is None:
        return None
    prefix = "${" + kind + "."
    if not (reference.startswith(prefix) and reference.endswith(".id}")):
        raise ModelError(f"unexpected reference {reference!r}")
    return reference[len(prefix):-len(".id}")]


@dataclass(frozen=True)
class Record:
    key: str
    name: str
    type: str
    set_identifier: str | None
    policy: str
    location: str | None = None
    region: str | None = None
    failover: str | None = None
    values: tuple[str, ...] = ()
    ttl: int | None = None
    health_check: str | None = None
    alias: str | None = None
    evaluate_target_health: bool = False

    @classmethod
    def parse(cls, key: str, body: dict) -> "Record":
        unmodelled = _UNMODELLED & body.keys()
        if unmodelled:
            raise ModelError(f"{key}: {sorted(unmodelled)} not modelled")
        policies = _MODELLED & body.keys()
        if len(policies) > 1:
            raise ModelError(f"{key}: more than one routing policy {sorted(policies)}")
        policy = next(iter(policies), "simple").replace("_routing_policy", "")
        location = region = failover = None
        if policy == "geolocation":
            geo = body["geolocation_routing_policy"]
            if geo.get("subdivision") or (geo.get("country") not in (None, "*")):
                raise ModelError(f"{key}: country and subdivision records are not modelled")
            location = geo.get("continent") or geo.get("country")
            if location not in (*CONTINENTS, "*"):
                raise ModelError(f"{key}: location {location!r} is not a continent code or '*'")
        elif policy == "latency":
            region = body["latency_routing_policy"]["region"]
        elif policy == "failover":
            failover = body["failover_routing_policy"]["type"]
            if failover not in ("PRIMARY", "SECONDARY"):
                raise ModelError(f"{key}: failover type {failover!r}")
        alias = body.get("alias")
        if isinstance(alias, list):
            alias = alias[0] if alias else None
        if alias and (body.get("records") or body.get("ttl") is not None):
            raise ModelError(f"{key}: an alias record has no values and no TTL of its own")
        if not alias and not body.get("records"):
            raise ModelError(f"{key}: neither values nor an alias target")
        if policy != "simple" and not body.get("set_identifier"):
            raise ModelError(f"{key}: a routed record needs a set_identifier")
        return cls(
            key=key, name=body["name"].rstrip("."), type=body["type"],
            set_identifier=body.get("set_identifier"), policy=policy, location=location,
            region=region, failover=failover, values=tuple(body.get("records") or ()),
            ttl=body.get("ttl"), health_check=_key(body.get("health_check_id"), "aws_route53_health_check"),
            alias=alias["name"].rstrip(".") if alias else None,
            evaluate_target_health=bool(alias and alias.get("evaluate_target_health")),
        )


@dataclass(frozen=True)
class Answer:
    """What a resolver gets: the terminal record's values and TTL, the records followed
    (outermost first), and whether a group had to answer in last-resort mode."""

    values: tuple[str, ...]
    ttl: int | None
    path: tuple[str, ...]
    last_resort: bool

    @property
    def record(self) -> str:
        return self.path[-1]


@dataclass
class Zone:
    """The records and health checks of one synthesized document, grouped by name and type."""

    records: dict[str, Record]
    health_checks: dict[str, dict]
    region_continent: Mapping[str, str]
    groups: dict[tuple[str, str], list[Record]] = field(default_factory=dict)

    @classmethod
    def from_document(cls, document: dict, region_continent: Mapping[str, str]) -> "Zone":
        resources = document.get("resource", {})
        records = {k: Record.parse(k, v) for k, v in resources.get("aws_route53_record", {}).items()}
        zone = cls(records, dict(resources.get("aws_route53_health_check", {})), region_continent)
        for record in records.values():
            zone.groups.setdefault((record.name, record.type), []).append(record)
        zone._check()
        return zone

    def _check(self) -> None:
        """Route 53's own constraints on a group; a violation would fail at apply."""
        names: dict[str, set[str]] = {}
        for (name, kind), group in self.groups.items():
            names.setdefault(name, set()).add(kind)
            policies = {r.policy for r in group}
            if len(policies) > 1:
                raise ModelError(f"{name} {kind}: mixed routing policies {sorted(policies)}")
            policy = policies.pop()
            identifiers = [r.set_identifier for r in group]
            if len(set(identifiers)) != len(identifiers):
                raise ModelError(f"{name} {kind}: duplicate set identifiers")
            if policy == "simple" and len(group) > 1:
                raise ModelError(f"{name} {kind}: several simple records")
            if policy == "geolocation":
                locations = [r.location for r in group]
                if len(set(locations)) != len(locations):
                    raise ModelError(f"{name} {kind}: two records for one location")
            if policy == "failover":
                roles = sorted(r.failover for r in group)
                if roles not in (["PRIMARY"], ["PRIMARY", "SECONDARY"]):
                    raise ModelError(f"{name} {kind}: failover roles {roles}")
            for record in group:
                if record.health_check and record.health_check not in self.health_checks:
                    raise ModelError(f"{record.key}: unknown health check {record.health_check}")
                if record.alias and (record.alias, kind) not in self.groups:
                    raise ModelError(f"{record.key}: alias target {record.alias} {kind} is not in the zone")
        for name, kinds in names.items():
            if "CNAME" in kinds and len(kinds) > 1:
                raise ModelError(f"{name}: a CNAME cannot share its name with {sorted(kinds - {'CNAME'})}")

    def policy(self, name: str, kind: str) -> str:
        return self.groups[(name, kind)][0].policy


class Resolver:
    """Answers queries against a :class:`Zone` while the health checks in ``failing``
    report unhealthy (all others healthy)."""

    def __init__(self, zone: Zone, failing: Iterable[str] = ()) -> None:
        self.zone = zone
        self.failing = set(failing)
        unknown = self.failing - zone.health_checks.keys()
        if unknown:
            raise ModelError(f"unknown health checks {sorted(unknown)}")

    def resolve(self, name: str, kind: str, location: str | None) -> Answer | None:
        """The answer for a resolver on ``location`` (a continent code, or ``None`` for an
        address Route 53 cannot place), or ``None`` for no answer."""
        return self._select(name, kind, location, last_resort_allowed=True, depth=0)

    # -- rules ---------------------------------------------------------------------

    def _healthy(self, record: Record, location: str | None, depth: int) -> bool:
        if record.health_check and record.health_check in self.failing:
            return False
        if record.alias and record.evaluate_target_health:
            return self._select(record.alias, record.type, location, last_resort_allowed=False, depth=depth + 1) is not None
        return True

    def _candidates(self, group: list[Record], location: str | None) -> list[Record]:
        policy = group[0].policy
        if policy == "geolocation":
            by_location = {r.location: r for r in group}
            order = ([location] if location else []) + ["*"]
            return [by_location[code] for code in order if code in by_location]
        if policy == "latency":
            ranking = LATENCY_ORDER[location]

            def distance(record: Record) -> int:
                return ranking.index(self.zone.region_continent[record.region])

            return sorted(group, key=distance)  # stable: ties keep the group's order
        if policy == "failover":
            return sorted(group, key=lambda r: r.failover != "PRIMARY")
        return list(group)

    def _select(self, name: str, kind: str, location: str | None, *, last_resort_allowed: bool, depth: int) -> Answer | None:
        if depth > 8:
            raise ModelError(f"alias chain through {name} is too deep (a loop?)")
        group = self.zone.groups[(name, kind)]
        candidates = self._candidates(group, location)
        for record in candidates:
            if self._healthy(record, location, depth):
                return self._follow(record, location, last_resort=False, depth=depth)
        if not last_resort_allowed or not candidates:
            return None
        if any(self._healthy(record, location, depth) for record in group):
            # Geolocation only: another location's record is healthy, none of ours is.
            return None
        # Last resort: every record of the group is considered healthy; choose by policy
        # alone (failover: both unhealthy -> the primary, which sorts first).
        return self._follow(candidates[0], location, last_resort=True, depth=depth)

    def _follow(self, record: Record, location: str | None, *, last_resort: bool, depth: int) -> Answer | None:
        if not record.alias:
            return Answer(record.values, record.ttl, (record.key,), last_resort)
        inner = self._select(record.alias, record.type, location, last_resort_allowed=True, depth=depth + 1)
        if inner is None:
            return None
        return Answer(inner.values, inner.ttl, (record.key, *inner.path), last_resort or inner.last_resort)


def markdown_table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
