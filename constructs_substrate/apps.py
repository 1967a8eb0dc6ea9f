"""The entry point shared by the scripts in ``apps/``: load settings, build, synthesize,
estimate the cost, print a one-screen summary (see :mod:`.summary`).

``python apps/<app>.py [--verbose]``: ``--verbose`` (``-v``) adds the resource counts per
type and the cost line items.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable, Sequence

from ._framework import App, backend
from .cost import ESTIMATE_FILE, estimate, read_stacks
from .errors import ConfigError
from .observability import render_upptime, write_dashboards
from .settings import DEFAULT_SETTINGS_FILE, DeploymentSettings, load_settings
from .summary import AppSummary, render

PLACEHOLDER_DOMAIN = DeploymentSettings.model_fields["domain"].default
"""``example.com``: synthesizes, cannot be deployed."""
DEPLOY_CLI = "npx cdktf-cli@0.21"
VERBOSE_FLAGS = ("--verbose", "-v")


def run(build: Callable[[App, object], Sequence[object]], root: Path, argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    unknown = [a for a in args if a not in VERBOSE_FLAGS]
    if unknown:
        print(f"usage: python {Path(sys.argv[0]).name} [--verbose]  (unknown: {' '.join(unknown)})", file=sys.stderr)
        raise SystemExit(2)
    try:
        settings = load_settings(root)
        app = App()
        deployments = build(app, settings)
    except ConfigError as error:
        # A configuration error is the user's to fix: show the message, not a traceback.
        print(f"configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    app.synth()
    print(render(summarize_app(app.outdir, deployments, settings, root), verbose=bool(args)))


def summarize_app(outdir: str, deployments: Sequence[object], settings: DeploymentSettings, root: Path) -> AppSummary:
    """Estimate the cost, write the files beside the stacks, and collect the summary."""
    endpoints: dict[str, list[str]] = {}
    for deployment in deployments:
        endpoints.update(deployment.endpoints())
    documents = read_stacks(outdir)
    cost = estimate(documents)
    estimate_path = Path(outdir) / ESTIMATE_FILE
    estimate_path.write_text(cost.to_json())
    written = [str(path) for path in write_dashboards(outdir)]
    if settings.status_page_repository:
        owner, repo = settings.status_page_repository.split("/")
        urls = sorted({url for urls in endpoints.values() for url in urls})
        status = Path(outdir) / ".upptimerc.yml"
        status.write_text(render_upptime(urls, owner=owner, repo=repo))
        written.append(str(status))
    chains = [deployment.chain for deployment in deployments]
    return AppSummary(
        app=", ".join(chains),
        backend=f"{backend().title} ({backend().name})",
        outdir=str(outdir),
        documents=documents,
        endpoints=endpoints,
        estimate=cost,
        estimate_file=str(estimate_path),
        warnings=warnings(settings, deployments, cost),
        next_steps=next_steps(chains, root),
        budget=_budget_line(deployments),
        written=written,
    )


def _setting(field: str) -> str:
    """How to set a setting: its variable or the key in the settings file."""
    from .settings import _ENV

    return f"{_ENV[field]} (\"{field}\" in {DEFAULT_SETTINGS_FILE})"


def warnings(settings: DeploymentSettings, deployments: Sequence[object], cost) -> list[str]:
    """What the settings leave unfinished, each naming the setting to set."""
    found = []
    if settings.domain == PLACEHOLDER_DOMAIN:
        found.append(f"domain {PLACEHOLDER_DOMAIN} is a placeholder: set {_setting('domain')} to yours "
                     "(its public Route53 zone in the account)")
    if not settings.alert_email:
        found.append(f"NO ALERT RECEIVER: alarms reach SNS topics nobody subscribes to; set {_setting('alert_email')}")
    budgeted = [d for d in deployments if getattr(d, "budget_usd", None) is not None]
    if budgeted and settings.cost_tag_owner is None:
        from .deployment import CHAIN_TAG

        found.append(f"the budget counts nothing until '{CHAIN_TAG}' is an activated cost allocation tag: a day "
                     f"after the first deploy set {_setting('cost_tag_owner')} to one app's chain (docs/cost.md)")
    if not settings.state_bucket:
        found.append(f"Terraform state is in local files: set {_setting('state_bucket')} to keep it in S3")
    unpriced = sum(len(stack.unpriced) for stack in cost.stacks)
    if unpriced:
        found.append(f"{unpriced} item(s) have no price and are not in the estimate: see {ESTIMATE_FILE} (\"unpriced\")")
    return found


def next_steps(chains: Sequence[str], root: Path) -> list[str]:
    """The deploy command: the default app of cdktf.json needs no ``--app``."""
    script = Path(sys.argv[0]).resolve()
    default = None
    config = Path(root) / "cdktf.json"
    if config.exists():
        default = json.loads(config.read_text()).get("app", "").split()[-1:]
    relative = script.relative_to(Path(root).resolve()) if script.is_relative_to(Path(root).resolve()) else script
    app = "" if default == [str(relative)] else f' --app "python3 {relative}"'
    steps = [f"{DEPLOY_CLI} deploy{app} " + " ".join(f"'{chain}-*'" for chain in chains)]
    steps.append(f"python3 {relative} --verbose   # resource counts and cost line items")
    return steps


def _budget_line(deployments: Sequence[object]) -> str | None:
    from .deployment import BUDGET_HEADROOM, CHAIN_TAG

    parts = []
    for deployment in deployments:
        limit = getattr(deployment, "budget_usd", None)
        if limit is None:
            continue
        how = f"estimate x {BUDGET_HEADROOM:g}" if deployment.cost_estimate is not None else "monthly_budget_usd"
        parts.append(f"budget alarm ${limit:,.0f}/month ({how}) on costs tagged {CHAIN_TAG}={deployment.chain}")
    return "; ".join(parts) or None
