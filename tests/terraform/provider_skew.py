"""Make a synthesized stack run on the provider the mirror holds (hashicorp/aws 5.100.0)
although the bindings pin 6.x, by an EXPLICIT table of rewrites, each one a 6.0.0
change named in the provider's upgrade guide:
https://registry.terraform.io/providers/hashicorp/aws/latest/docs/guides/version-6-upgrade
(source: hashicorp/terraform-provider-aws ``website/docs/guides/version-6-upgrade.html.markdown``).

Only the scratch copy is rewritten, never the library's output. Every rewrite made is
returned (the per-stack table counts them), and anything the table does not know stays
as it is, so ``terraform validate`` on 5.x reports it and the test fails: nothing is
dropped silently. A ``region`` argument on a type whose 5.x schema already has an
argument of that name (listed in :data:`REGION_IS_OWN_ARGUMENT_IN_5X`) is not rewritten
but refused: there the 6.x meaning differs and no mechanical rewrite is right.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Callable

GUIDE = "hashicorp/aws 6.0.0 upgrade guide"


@dataclass(frozen=True)
class Rewrite:
    name: str
    guide_section: str
    """The section of the upgrade guide that documents the 6.x change."""
    what: str
    apply: Callable[[dict, str], int]
    """Mutates the stack document in place (given the target aws version); returns how
    many places it changed."""


class UnknownSkew(AssertionError):
    """A 6.x feature the table cannot rewrite safely."""


# ---- row 1: the version constraint -------------------------------------------------


def _pin_version(document: dict, version: str) -> int:
    providers = document.get("terraform", {}).get("required_providers", {})
    aws = providers.get("aws")
    if not aws:
        return 0
    aws["version"] = version
    return 1


# ---- row 2: data.aws_region's `region` attribute -----------------------------------

_REGION_ATTRIBUTE = re.compile(r"(data\.aws_region\.[A-Za-z0-9_-]+)\.region\b")


def _region_name(document: dict, _version: str) -> int:
    """6.x: ``data.aws_region.X.region`` (``name`` deprecated); 5.x has only ``name``.
    Also an explicit ``region`` argument of the data source becomes ``name``."""
    count = 0
    for body in (document.get("data", {}).get("aws_region") or {}).values():
        if "region" in body:
            body["name"] = body.pop("region")
            count += 1
    text = json.dumps(document)
    new, hits = _REGION_ATTRIBUTE.subn(r"\1.name", text)
    if hits:
        document.clear()
        document.update(json.loads(new))
    return count + hits


# ---- row 3: per-resource `region` (6.0 "enhanced region support") ------------------

REGION_IS_OWN_ARGUMENT_IN_5X = {
    "resource": {
        "aws_cloudformation_stack_set_instance", "aws_config_aggregate_authorization",
        "aws_dx_hosted_connection", "aws_opsworks_stack", "aws_servicequotas_template",
    },
    "data": {
        "aws_servicequotas_templates", "aws_ssmincidents_replication_set",
        "aws_vpc_endpoint_service", "aws_vpc_peering_connection",
    },
}
"""Types with a ``region`` argument of their own in 5.100.0 (from ``terraform providers
schema -json``; the upgrade guide renames each in 6.0). ``data.aws_region`` is row 2."""


def _aliased_providers(document: dict, _version: str) -> int:
    """6.x: a top-level ``region`` on a resource or data source overrides the provider's
    region. 5.x: the same is said with an aliased provider for that region. The alias
    copies the resource's provider block (default tags...) with the region replaced."""
    providers = document.setdefault("provider", {}).setdefault("aws", [])
    if isinstance(providers, dict):
        providers = document["provider"]["aws"] = [providers]
    by_ref = {("aws." + p["alias"]) if p.get("alias") else "aws": p for p in providers}
    count = 0
    for section in ("resource", "data"):
        for kind, items in (document.get(section) or {}).items():
            if section == "data" and kind == "aws_region":
                continue
            for name, body in (items or {}).items():
                if not isinstance(body, dict) or "region" not in body:
                    continue
                if kind in REGION_IS_OWN_ARGUMENT_IN_5X[section]:
                    raise UnknownSkew(
                        f"{section}.{kind}.{name}: `region` is an argument of its own in 5.x; "
                        "no safe rewrite (extend provider_skew.py deliberately)"
                    )
                region = body.pop("region")
                if not isinstance(region, str) or "${" in region:
                    raise UnknownSkew(f"{section}.{kind}.{name}: region {region!r} is not a literal")
                base_ref = body.get("provider", "aws")
                base = by_ref.get(base_ref)
                if base is None:
                    raise UnknownSkew(f"{section}.{kind}.{name}: provider {base_ref!r} not declared")
                if base.get("region") == region:
                    alias_ref = base_ref  # the override equals the provider's own region
                else:
                    alias = f"{base.get('alias') or 'default'}_{region}".replace("-", "_")
                    alias_ref = f"aws.{alias}"
                    if alias_ref not in by_ref:
                        clone = copy.deepcopy(base)
                        clone.update(alias=alias, region=region)
                        providers.append(clone)
                        by_ref[alias_ref] = clone
                body["provider"] = alias_ref
                count += 1
    return count


TABLE: tuple[Rewrite, ...] = (
    Rewrite(
        "aws-version", "Prerequisites to Upgrade to v6.0.0 (version constraints)",
        "required_providers.aws.version -> the mirror's version", _pin_version,
    ),
    Rewrite(
        "aws_region.region", "Data Source `aws_region`: `name` has been deprecated. Use `region` instead.",
        "data.aws_region.X.region -> .name", _region_name,
    ),
    Rewrite(
        "per-resource region", "Enhanced Region Support (adds `region` to most resources)",
        "resource/data `region` argument -> aliased provider for that region", _aliased_providers,
    ),
)


def to_provider(document: dict, version: str) -> tuple[dict, dict[str, int]]:
    """A rewritten copy of ``document`` for hashicorp/aws ``version`` and the number of
    places each row of :data:`TABLE` changed."""
    rewritten = copy.deepcopy(document)
    counts = {row.name: row.apply(rewritten, version) for row in TABLE}
    return rewritten, counts


def table_markdown() -> str:
    """The table as docs/testing.md shows it."""
    lines = ["| rewrite | 6.x | 5.x | upgrade guide section |", "| --- | --- | --- | --- |"]
    for row in TABLE:
        before, _, after = row.what.partition(" -> ")
        lines.append(f"| {row.name} | {before} | {after} | {row.guide_section} |")
    return "\n".join(lines)
