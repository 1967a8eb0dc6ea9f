"""Gate: no systemd unit the bootstrap renders scores above its exposure threshold
(``systemd-analyze security --offline=yes``; thresholds and reasons in
``hardening.THRESHOLDS``, scores recorded in docs/security.md). The units are
measured once per session (``unit_scores`` in conftest.py)."""

from __future__ import annotations

import pytest

import hardening

pytestmark = pytest.mark.slow


def test_units_were_found(unit_scores):
    units = {s.unit for s in unit_scores}
    assert {"substrate-node.service", "substrate-install.service", "substrate-probe.service"} <= units
    # Units come from every role and from the apps' real user data.
    assert {s.source.split()[0] for s in unit_scores} >= {"role", "cluster", "app"}
    assert {"substrate-lifecycle.service", "substrate-restore.service"} <= units


def test_no_unit_scores_above_its_threshold(unit_scores):
    problems = hardening.over_threshold(unit_scores)
    assert not problems, "\n".join(problems)


def test_the_gate_fails_on_a_weak_unit(tmp_path):
    weak = "[Unit]\nDescription=weak\n[Service]\nExecStart=/bin/true\n"
    strong = hardening.node_sources()["role rpc"]
    scores = hardening.score_sources({"weak": [("/etc/systemd/system/substrate-probe.service", weak)],
                                      "strong": strong}, tmp_path)
    problems = hardening.over_threshold(scores)
    assert any(p.startswith("substrate-probe.service (from weak) scores 9.") for p in problems), problems
    unknown = hardening.score_sources({"new": [("/etc/systemd/system/brand-new.service", weak)]}, tmp_path / "2")
    assert "has no threshold" in hardening.over_threshold(unknown)[0]


def test_a_drop_in_that_weakens_a_unit_is_measured(tmp_path):
    files = hardening.node_sources()["role rpc"]
    node = "/etc/systemd/system/substrate-node.service"
    before = hardening.worst(hardening.score_sources({"plain": files}, tmp_path / "a"))["substrate-node.service"]
    drop_in = (f"{node}.d/weaken.conf", "[Service]\nProtectSystem=no\nNoNewPrivileges=no\nPrivateDevices=no\n")
    after = hardening.worst(hardening.score_sources({"weakened": files + [drop_in]}, tmp_path / "b"))["substrate-node.service"]
    assert after.exposure > before.exposure
