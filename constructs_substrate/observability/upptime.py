"""The Upptime status page configuration (``.upptimerc.yml``) from the list of public
endpoints the app deploys, so the status page cannot drift from what is deployed.

For each ``https://`` endpoint: an HTTP POST of ``system_health`` that counts as down
unless the answer contains ``"isSyncing":false`` (a JSON-RPC error also comes with
HTTP 200, and a syncing node is not serving current data). For each ``wss://``
endpoint: Upptime's ``ws`` check with the same request as body. Upptime's ``ws``
check (upptime/uptime-monitor ``src/update.ts``) reports "up" once the socket opens:
it sends the body but never waits for or checks a reply, the very flaw of the old
status page. It is kept as a handshake check (TLS, DNS, upgrade); the real
WebSocket check is the Synthetics canary (:mod:`.canary.check`), which requires
answers and a new block.
"""

from __future__ import annotations

import json
import re
from typing import Sequence
from urllib.parse import urlsplit

from . import yamltext

HEALTH_REQUEST = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "system_health", "params": []}, separators=(",", ":"))
HEALTHY_TEXT = '"isSyncing":false'
_URL = re.compile(r"^(https|wss)://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%/+=&?:@,-]*)?$")
_GITHUB_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def upptime_sites(endpoints: Sequence[str]) -> list[dict]:
    sites = []
    for url in dict.fromkeys(endpoints):
        if not _URL.match(url):
            raise ValueError(f"{url!r} is not an https:// or wss:// endpoint URL")
        host = urlsplit(url).netloc
        if url.startswith("https://"):
            sites.append({
                "name": f"{host} JSON-RPC (HTTPS)",
                "url": url,
                "method": "POST",
                "headers": ["Content-Type: application/json"],
                "body": HEALTH_REQUEST,
                "expectedStatusCodes": [200],
                "maxResponseTime": 5000,
                "__dangerous__body_down_if_text_missing": HEALTHY_TEXT,
            })
        else:
            sites.append({
                "name": f"{host} WebSocket (handshake)",
                "url": url,
                "check": "ws",
                "body": HEALTH_REQUEST,
            })
    return sites


def upptime_config(endpoints: Sequence[str], *, owner: str, repo: str, title: str = "Substrate RPC status") -> dict:
    """The ``.upptimerc.yml`` document for ``owner/repo`` (the status page repository)."""
    for name, value in (("owner", owner), ("repo", repo)):
        if not _GITHUB_NAME.match(value):
            raise ValueError(f"{name} {value!r} is not a repository owner/name")
    if not endpoints:
        raise ValueError("give at least one endpoint")
    return {
        "owner": owner,
        "repo": repo,
        "sites": upptime_sites(endpoints),
        "status-website": {"name": title, "introTitle": title, "introMessage": "Public JSON-RPC endpoints"},
        "workflowSchedule": {"uptime": "*/5 * * * *"},
    }


def render_upptime(endpoints: Sequence[str], *, owner: str, repo: str, title: str = "Substrate RPC status") -> str:
    header = "# Generated from the deployed endpoints (constructs_substrate).\n"
    return header + yamltext.dump(upptime_config(endpoints, owner=owner, repo=repo, title=title), document_start=True)
