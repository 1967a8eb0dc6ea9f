"""The alert rules: valid for promtool, and every alert proven to fire and to stay
quiet on synthetic series (``promtool test rules``)."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from promtool_cases import CASES, EXPECTED_NODES, THRESHOLDS, promtool_groups

from constructs_substrate.observability.config import AlertThresholds
from constructs_substrate.observability.rules import alert_rules, rules_document, rules_yaml
from constructs_substrate.observability.versions import less_than_regex, older_than_regex, parse_version

from observability_support import require


@pytest.fixture(scope="module")
def rules_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("rules") / "rules.yml"
    path.write_text(rules_yaml(THRESHOLDS, EXPECTED_NODES))
    return path


def test_promtool_check_rules(rules_file):
    result = subprocess.run([require("promtool"), "check", "rules", str(rules_file)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(CASES)} rules found" in result.stdout


def test_default_rules_are_valid_too(tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text(rules_yaml())
    result = subprocess.run([require("promtool"), "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_quiet_case():
    names = {rule.name for rule in alert_rules(THRESHOLDS, EXPECTED_NODES)}
    assert names == {case.alert for case in CASES}


def test_each_alert_fires_and_stays_quiet(rules_file):
    rules = {r["alert"]: r for r in rules_document(alert_rules(THRESHOLDS, EXPECTED_NODES))["groups"][0]["rules"]}
    tests = {"rule_files": [rules_file.name], "evaluation_interval": "1m", "tests": promtool_groups(rules)}
    path = rules_file.parent / "rules_test.yml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False))
    result = subprocess.run(
        [require("promtool"), "test", "rules", path.name], capture_output=True, text=True, cwd=rules_file.parent
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_test_would_catch_a_broken_rule(rules_file, tmp_path):
    """The method above is sharp: the same tests fail against rules with a wrong threshold."""
    broken = rules_yaml(AlertThresholds(minimum_node_version="1.16.0", min_peers=1), EXPECTED_NODES)
    (tmp_path / "rules.yml").write_text(broken)
    rules = {r["alert"]: r for r in rules_document(alert_rules(THRESHOLDS, EXPECTED_NODES))["groups"][0]["rules"]}
    tests = {"rule_files": ["rules.yml"], "evaluation_interval": "1m",
             "tests": [g for g in promtool_groups(rules) if g["name"] == "SubstrateLowPeers firing"]}
    (tmp_path / "t.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = subprocess.run([require("promtool"), "test", "rules", "t.yml"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode != 0


@pytest.mark.parametrize("rule", alert_rules(THRESHOLDS, EXPECTED_NODES), ids=lambda r: r.name)
def test_every_rule_has_severity_summary_and_runbook(rule):
    document = rule.to_dict()
    assert document["labels"]["severity"] in ("critical", "warning")
    assert document["annotations"]["summary"] and len(document["annotations"]["runbook"]) > 80
    assert document["annotations"]["runbook_url"].endswith(f"#runbook-{rule.name.lower()}")
    assert re.fullmatch(r"[0-9]+m", document["for"])


def test_optional_rules_follow_the_config():
    names = {rule.name for rule in alert_rules()}
    assert "SubstrateNodeOutdated" not in names and "SubstrateNodeMissing" not in names


def test_rpc_rules_use_the_nodes_own_metrics():
    """RPC method rates come from the node's counters, never from logged requests."""
    text = rules_yaml(THRESHOLDS)
    assert "substrate_rpc_calls_finished" in text and 'is_error="true"' in text


# ---- versions -----------------------------------------------------------------------


@given(st.integers(0, 5000), st.integers(0, 5000))
def test_less_than_regex_matches_exactly_the_smaller_numbers(limit, candidate):
    pattern = less_than_regex(limit)
    matched = pattern is not None and re.fullmatch(pattern, str(candidate)) is not None
    assert matched == (candidate < limit)


versions = st.tuples(st.integers(0, 30), st.integers(0, 130), st.integers(0, 130))


@given(versions.filter(lambda v: v != (0, 0, 0)), versions, st.sampled_from(["", "-b2d9c8a1b3e", "+build7"]))
def test_older_than_regex_is_a_version_comparison(minimum, version, suffix):
    pattern = older_than_regex(".".join(map(str, minimum)))
    text = ".".join(map(str, version)) + suffix
    assert (re.fullmatch(pattern, text) is not None) == (version < minimum)


def test_older_than_regex_needs_no_escaping():
    assert "\\" not in older_than_regex("1.16.1")
    assert parse_version("1.16.1") == (1, 16, 1)
    with pytest.raises(ValueError):
        parse_version("v1.16")
