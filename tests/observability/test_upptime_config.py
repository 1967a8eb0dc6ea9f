"""The Upptime status page config: generated from the endpoint list, yamllint-clean."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from constructs_substrate.observability.upptime import HEALTH_REQUEST, render_upptime, upptime_config

from observability_support import require

ENDPOINTS = ["https://rpc.example.com", "wss://rpc.example.com", "https://rpc-eu.example.com:8443/polkadot", "wss://rpc-eu.example.com/polkadot"]


def test_yamllint_strict(tmp_path):
    path = tmp_path / ".upptimerc.yml"
    path.write_text(render_upptime(ENDPOINTS, owner="acme", repo="status"))
    result = subprocess.run([require("yamllint"), "--strict", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_every_endpoint_is_listed_once_with_a_real_request():
    document = yaml.safe_load(render_upptime(ENDPOINTS + ENDPOINTS[:1], owner="acme", repo="status"))
    assert document == upptime_config(ENDPOINTS, owner="acme", repo="status")
    sites = {site["url"]: site for site in document["sites"]}
    assert list(sites) == ENDPOINTS
    for url, site in sites.items():
        assert json.loads(site["body"]) == {"jsonrpc": "2.0", "id": 1, "method": "system_health", "params": []}
        if url.startswith("https://"):
            assert site["method"] == "POST" and site["headers"] == ["Content-Type: application/json"]
            assert site["__dangerous__body_down_if_text_missing"] == '"isSyncing":false'
        else:
            assert site["check"] == "ws" and site["body"] == HEALTH_REQUEST
    assert (document["owner"], document["repo"]) == ("acme", "status")


@pytest.mark.parametrize("endpoints,owner", [
    (["http://rpc.example.com"], "acme"),
    (["wss://rpc.example.com/'; x"], "acme"),
    ([], "acme"),
    (["wss://rpc.example.com"], "ac me"),
])
def test_refuses_bad_input(endpoints, owner):
    with pytest.raises(ValueError):
        upptime_config(endpoints, owner=owner, repo="status")
