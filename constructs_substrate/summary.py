"""What an app synthesized, for the person who ran it: one screen, most useful first.

1. a headline per app: app, framework backend, stacks, resources, output folder;
2. the estimated monthly cost, one line per stack (line items with ``verbose``);
3. the public endpoints;
4. warnings: what the settings leave unfinished (placeholder domain, no alert
   receiver, a budget that counts nothing yet...), each naming the setting to set;
5. the command to run next.

Reads the synthesized ``cdk.tf.json`` files, so it reports what Terraform will see.
Pure text from data: :func:`render` takes everything it prints.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from .cost import PRICE_DATE, Estimate

WARNING_MARK = "!"


@dataclass(frozen=True)
class AppSummary:
    """Everything the summary of one app shows."""

    app: str
    """The app's name (its chains)."""
    backend: str
    """The framework, e.g. ``CDK Terrain (cdktn)``."""
    outdir: str
    documents: Mapping[str, Mapping]
    """Stack name -> synthesized document."""
    endpoints: Mapping[str, Sequence[str]]
    """Stack name -> public URLs."""
    estimate: Estimate
    estimate_file: str
    warnings: Sequence[str] = ()
    next_steps: Sequence[str] = ()
    budget: str | None = None
    """One line about the budget alarm, if any."""
    written: Sequence[str] = field(default_factory=tuple)
    """Other files the app wrote (dashboards, status page)."""


def resource_counts(document: Mapping) -> Counter:
    return Counter({kind: len(items) for kind, items in (document.get("resource") or {}).items()})


def _money(usd: float) -> str:
    return f"${usd:,.0f}"


def _categories(by_category: Mapping[str, float], shown: int = 5) -> str:
    items = list(by_category.items())
    parts = [f"{name} {usd:,.0f}" for name, usd in items[:shown]]
    rest = sum(usd for _, usd in items[shown:])
    if rest:
        parts.append(f"other {rest:,.0f}")
    return " · ".join(parts)


def _endpoint_lines(endpoints: Mapping[str, Sequence[str]]) -> list[str]:
    """One line per host name with its schemes, global names first."""
    hosts: dict[str, list[str]] = {}
    for stack in sorted(endpoints, key=lambda name: (not name.endswith("-global"), name)):
        for url in endpoints[stack]:
            scheme, _, rest = url.partition("://")
            hosts.setdefault(rest, [])
            if scheme not in hosts[rest]:
                hosts[rest].append(scheme)
    width = max((len(host) for host in hosts), default=0)
    return [f"  {host:<{width}}  {' '.join(schemes)}" for host, schemes in hosts.items()]


def render(summary: AppSummary, *, verbose: bool = False) -> str:
    """The summary as text (about 25 lines for the polkadot app; more with ``verbose``)."""
    s = summary
    total = sum(sum(resource_counts(d).values()) for d in s.documents.values())
    lines = [
        f"{s.app}: {len(s.documents)} stacks, {total} resources, {s.backend}, written to {s.outdir}/",
        "",
        f"Estimated cost: {_money(s.estimate.monthly_usd)}/month on demand (list prices of {PRICE_DATE}; "
        f"details: {s.estimate_file})",
    ]
    width = max((len(stack.name) for stack in s.estimate.stacks), default=0)
    for stack in s.estimate.stacks:
        lines.append(f"  {stack.name:<{width}}  {_money(stack.monthly_usd):>7}  {_categories(stack.by_category())}".rstrip())
        if verbose:
            lines.extend(f"      {item.monthly_usd:9,.2f}  {item.description}" for item in stack.items)
            lines.extend(f"      unpriced   {what}" for what in stack.unpriced)
    if s.budget:
        lines.append(f"  {s.budget}")
    lines += ["", "Endpoints", *_endpoint_lines(s.endpoints)]
    if verbose:
        lines += ["", "Resources per stack"]
        for name, document in s.documents.items():
            counts = resource_counts(document)
            lines.append(f"  {name}: {sum(counts.values())} resources, {len(document.get('output') or {})} outputs")
            lines.extend(f"    {count:3d} {kind}" for kind, count in sorted(counts.items()))
    if s.written:
        lines += ["", "Also written: " + ", ".join(s.written)]
    if s.warnings:
        lines += ["", "Warnings"]
        lines.extend(f"  {WARNING_MARK} {warning}" for warning in s.warnings)
    if s.next_steps:
        lines += ["", "Next"]
        lines.extend(f"  {step}" for step in s.next_steps)
    return "\n".join(lines)
