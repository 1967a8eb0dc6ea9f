"""The entry point shared by the scripts in ``apps/``: load settings, build, synthesize,
print a summary (stacks, resources per stack, endpoints)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Sequence

from ._framework import App
from .errors import ConfigError
from .observability import render_upptime, write_dashboards
from .settings import load_settings
from .summary import summarize


def run(build: Callable[[App, object], Sequence[object]], root: Path) -> None:
    try:
        settings = load_settings(root)
        app = App()
        deployments = build(app, settings)
    except ConfigError as error:
        # A configuration error is the user's to fix: show the message, not a traceback.
        print(f"configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    app.synth()
    endpoints: dict[str, list[str]] = {}
    for deployment in deployments:
        endpoints.update(deployment.endpoints())
    print(summarize(app.outdir, endpoints))
    for path in write_dashboards(app.outdir):
        print(f"dashboard {path}")
    if settings.status_page_repository:
        owner, repo = settings.status_page_repository.split("/")
        urls = sorted({url for urls in endpoints.values() for url in urls})
        status = Path(app.outdir) / ".upptimerc.yml"
        status.write_text(render_upptime(urls, owner=owner, repo=repo))
        print(f"status page {status}")
