"""Security-group rules as small declarative records.

Each construct lists who may reach which port (:class:`Ingress`); one function turns
the list into ``aws_vpc_security_group_ingress_rule`` resources with stable ids, so
the same rule always gets the same logical id and the invariants tests can read the
intent from the JSON (a description on every rule).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable, Sequence

from ._framework import Construct, aws

ANYWHERE_V4 = "0.0.0.0/0"
ANYWHERE_V6 = "::/0"
INTERNET = (ANYWHERE_V4, ANYWHERE_V6)


@dataclass(frozen=True)
class Ingress:
    """Allow ``protocol`` on ``port`` from CIDR blocks and/or security groups."""

    key: str
    """Stable short name used in the logical id, e.g. ``p2p-tcp``."""
    port: int
    protocol: str
    description: str
    cidrs: Sequence[str] = ()
    security_group_ids: Sequence[str] = ()


def add_ingress_rules(
    scope: Construct, security_group_id: str, rules: Iterable[Ingress], provider=None
) -> list:
    rule_cls = aws("vpc_security_group_ingress_rule").VpcSecurityGroupIngressRule
    created = []
    for rule in rules:
        common = dict(
            security_group_id=security_group_id,
            ip_protocol=rule.protocol,
            from_port=rule.port,
            to_port=rule.port,
            description=rule.description,
            provider=provider,
        )
        for cidr in rule.cidrs:
            family = "cidr_ipv6" if ipaddress.ip_network(cidr).version == 6 else "cidr_ipv4"
            suffix = cidr.replace("/", "_").replace(":", "-").replace(".", "-")
            created.append(rule_cls(scope, f"in-{rule.key}-{suffix}", **{family: cidr}, **common))
        for index, group in enumerate(rule.security_group_ids):
            created.append(
                rule_cls(scope, f"in-{rule.key}-sg{index}", referenced_security_group_id=group, **common)
            )
    return created


def add_egress_anywhere(scope: Construct, security_group_id: str, reason: str, provider=None) -> list:
    """All outbound traffic: nodes dial arbitrary peers on arbitrary ports (p2p), and
    fetch releases, packages and certificates."""
    rule_cls = aws("vpc_security_group_egress_rule").VpcSecurityGroupEgressRule
    return [
        rule_cls(
            scope,
            f"out-all-{'v6' if ':' in cidr else 'v4'}",
            security_group_id=security_group_id,
            ip_protocol="-1",
            description=reason,
            provider=provider,
            **({"cidr_ipv6": cidr} if ":" in cidr else {"cidr_ipv4": cidr}),
        )
        for cidr in INTERNET
    ]
