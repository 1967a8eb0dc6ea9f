"""The CloudWatch Synthetics entry point: check every configured endpoint, fail the run
(raise) when any check fails. Settings come from the canary's environment:

- ``SUBSTRATE_ENDPOINTS``: comma-separated ``wss://`` URLs (required);
- ``NEW_HEAD_SECONDS``, ``MAX_FINALITY_LAG``, ``TIMEOUT_SECONDS``: see :class:`CheckSettings`.
"""

from __future__ import annotations

import os

from .check import CheckSettings, check_endpoint


def settings_from(environ) -> tuple[list[str], CheckSettings]:
    endpoints = [url.strip() for url in environ.get("SUBSTRATE_ENDPOINTS", "").split(",") if url.strip()]
    if not endpoints:
        raise ValueError("SUBSTRATE_ENDPOINTS is empty: nothing to check")
    settings = CheckSettings(
        new_head_seconds=float(environ.get("NEW_HEAD_SECONDS", 30)),
        max_finality_lag=int(environ.get("MAX_FINALITY_LAG", 30)),
        timeout=float(environ.get("TIMEOUT_SECONDS", 10)),
    )
    return endpoints, settings


def handler(event=None, context=None) -> str:
    endpoints, settings = settings_from(os.environ)
    results = [check_endpoint(url, settings) for url in endpoints]
    for result in results:
        print(result.summary())
    failed = [r for r in results if not r.ok]
    if failed:
        raise Exception("; ".join(r.summary() for r in failed))
    return f"{len(results)} endpoint(s) healthy"
