"""Decision logic of the readiness probe: pure functions, no network, no clock."""

from __future__ import annotations

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from constructs_substrate.probe.readiness_probe import ProbeState, Sample, Settings, evaluate, liveness

DEFAULTS = Settings()  # stall 60 s, lag 20, min peers 1, rise 2, fall 2, interval 5 s


class Chain:
    """Builds consecutive samples 5 s apart, the head advancing one block per poll."""

    def __init__(self) -> None:
        self.t = 0.0
        self.best = 100

    def polls(self, n: int, *, advance: bool = True, lag: int = 2, error: str | None = None, **fields) -> list[Sample]:
        out = []
        for _ in range(n):
            self.t += 5.0
            if advance:
                self.best += 1
            if error is not None:
                out.append(Sample(at=self.t, error=error))
                continue
            values = dict(
                answered=True,
                readiness_status=200,
                is_syncing=False,
                peers=8,
                should_have_peers=True,
                best=self.best,
                finalized=self.best - lag,
            )
            values.update(fields)
            out.append(Sample(at=self.t, **values))
        return out


def run(samples: list[Sample], cfg: Settings = DEFAULTS, state: ProbeState | None = None) -> list[ProbeState]:
    states = []
    state = state or ProbeState()
    for sample in samples:
        state = evaluate(state, sample, cfg)
        states.append(state)
    return states


def test_synced_node_becomes_ready_after_rise_good_polls():
    chain = Chain()
    states = run(chain.polls(3))
    # Poll 1 only sets the baseline head (start-up rule), polls 2 and 3 are the `rise`.
    assert [s.ready for s in states] == [False, False, True]
    assert "head not advancing yet" in states[0].reasons[0]
    assert states[1].reasons == ("recovering: 1 of 2 good polls in a row",)
    assert states[2].reasons == ()


# Each case: a node that was ready (4 good polls), then these polls; fall = 2.
CASES = [
    # id, polls after warm-up, expected ready, reason fragment (None: no reason expected)
    ("syncing", lambda c: c.polls(2, is_syncing=True), False, "node is syncing"),
    ("no peers but should have", lambda c: c.polls(2, peers=0), False, "has 0 peers, needs at least 1"),
    ("no peers, should not have", lambda c: c.polls(2, peers=0, should_have_peers=False), True, None),
    # 13 polls: 65 s > 60 s, the first bad poll; the 14th is the second (fall = 2).
    (
        "head stalled > stall_seconds",
        lambda c: c.polls(14, advance=False),
        False,
        "head not advancing: best block #104 for 70s",
    ),
    ("head unchanged exactly stall_seconds", lambda c: c.polls(12, advance=False), True, None),
    ("finality lag > K", lambda c: c.polls(2, lag=21), False, "finality lag 21 blocks exceeds 20"),
    ("finality lag == K", lambda c: c.polls(2, lag=20), True, None),
    ("rpc timeout", lambda c: c.polls(2, error="system_health: timed out"), False, "node RPC failed: system_health"),
    ("json-rpc error", lambda c: c.polls(2, error="chain_getHeader: JSON-RPC error: boom"), False, "JSON-RPC error"),
    ("readiness 500", lambda c: c.polls(2, readiness_status=500), False, "/health/readiness answered HTTP 500"),
    ("readiness unsupported, health good", lambda c: c.polls(2, readiness_supported=False), True, None),
    ("network lag > N", lambda c: c.polls(2, current=c.best, highest=c.best + 11), False,
     "network lag 11 blocks exceeds 10"),
    ("network lag == N", lambda c: c.polls(2, current=c.best, highest=c.best + 10), True, None),
    ("ahead of the announced tip", lambda c: c.polls(2, current=c.best, highest=c.best - 3), True, None),
    ("highestBlock null", lambda c: c.polls(2, current=c.best, highest=None), True, None),
    ("no system_syncState", lambda c: c.polls(2, current=None, highest=None), True, None),
    (
        "readiness unsupported, falls back to system_health: syncing",
        lambda c: c.polls(2, readiness_supported=False, is_syncing=True),
        False,
        "node is syncing",
    ),
    (
        "readiness unsupported, falls back to system_health: no peers",
        lambda c: c.polls(2, readiness_supported=False, peers=0),
        False,
        "0 peers",
    ),
    (
        "readiness 200 but system_health syncing",
        lambda c: c.polls(2, is_syncing=True, readiness_status=200),
        False,
        "node is syncing",
    ),
]


@pytest.mark.parametrize("make, ready, reason", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decision_table(make, ready, reason):
    chain = Chain()
    warm = run(chain.polls(4))
    assert warm[-1].ready
    final = run(make(chain), state=warm[-1])[-1]
    assert final.ready is ready
    if reason is None:
        assert final.reasons == ()
    else:
        assert any(reason in r for r in final.reasons), final.reasons


def test_min_peers_is_configurable():
    cfg = Settings(min_peers=3)
    chain = Chain()
    state = run(chain.polls(4, peers=2), cfg)[-1]
    assert not state.ready
    assert run(chain.polls(2, peers=3), cfg, state)[-1].ready


def test_one_bad_poll_is_tolerated_two_are_not():
    chain = Chain()
    state = run(chain.polls(4))[-1]
    one, two = run(chain.polls(2, error="system_health: timed out"), state=state)
    assert one.ready and one.reasons  # still ready, but says what it tolerated
    assert not two.ready


def test_an_interrupted_bad_run_does_not_count():
    chain = Chain()
    state = run(chain.polls(4))[-1]
    states = run(chain.polls(1, is_syncing=True) + chain.polls(1) + chain.polls(1, is_syncing=True), state=state)
    assert all(s.ready for s in states)


def test_recovery_needs_rise_good_polls():
    chain = Chain()
    state = run(chain.polls(4) + chain.polls(2, is_syncing=True))[-1]
    assert not state.ready
    after_one, after_two = run(chain.polls(2), state=state)
    assert not after_one.ready and after_one.reasons == ("recovering: 1 of 2 good polls in a row",)
    assert after_two.ready


def test_fall_and_rise_of_one_react_immediately():
    cfg = Settings(rise=1, fall=1)
    chain = Chain()
    assert [s.ready for s in run(chain.polls(2), cfg)] == [False, True]
    state = run(chain.polls(1, peers=0), cfg, ProbeState(ready=True))[-1]
    assert not state.ready


def test_head_is_never_seen_advancing_when_it_never_moves():
    chain = Chain()
    states = run(chain.polls(6, advance=False))
    assert not any(s.ready for s in states)
    assert "head not advancing yet" in states[-1].reasons[0]


def test_lower_head_becomes_the_new_baseline():
    # A node restored from an older snapshot: the drop is not an advance, the next rise is.
    chain = Chain()
    state = run(chain.polls(4))[-1]
    chain.best -= 50
    dropped = run(chain.polls(1, advance=False), state=state)[-1]
    assert dropped.last_best == chain.best and dropped.last_advance_at == state.last_advance_at
    assert run(chain.polls(1), state=dropped)[-1].last_advance_at == chain.t


def test_stall_clock_keeps_running_while_rpc_fails():
    chain = Chain()
    state = run(chain.polls(4))[-1]
    state = run(chain.polls(13, error="system_health: timed out"), state=state)[-1]
    assert any(r.startswith("head not advancing") for r in state.reasons)


def test_partial_sample_still_moves_the_head():
    # best was read before the poll failed: a true observation, used for the stall clock.
    chain = Chain()
    state = run(chain.polls(4))[-1]
    partial = Sample(at=chain.t + 5, error="chain_getFinalizedHead: timed out", best=chain.best + 1)
    state = evaluate(state, partial, DEFAULTS)
    assert state.last_advance_at == chain.t + 5


def test_poll_errors_are_counted():
    chain = Chain()
    state = run(chain.polls(2) + chain.polls(3, error="x") + chain.polls(1))[-1]
    assert state.poll_errors == 3 and state.polls == 6


def test_sample_without_error_must_be_complete():
    with pytest.raises(ValueError, match="missing"):
        Sample(at=0.0, best=1)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(interval=0),
        dict(rpc_timeout=6),  # longer than the 5 s interval
        dict(stall_seconds=5),
        dict(max_finality_lag=-1),
        dict(min_peers=-1),
        dict(rise=0),
        dict(fall=0),
        dict(max_network_lag=0),
        dict(live_seconds=8),  # not above interval + rpc_timeout (5 + 3)
    ],
)
def test_settings_reject_nonsense(kwargs):
    with pytest.raises(ValueError):
        Settings(**kwargs)


# --------------------------------------------------------------------------- properties

settings_st = st.builds(
    Settings,
    stall_seconds=st.sampled_from([6.0, 30.0, 60.0]),
    max_finality_lag=st.integers(0, 5),
    max_network_lag=st.integers(1, 12),
    min_peers=st.integers(0, 3),
    rise=st.integers(1, 4),
    fall=st.integers(1, 4),
)

poll_st = st.fixed_dictionaries(
    {
        "dt": st.floats(0.1, 40.0),
        "error": st.one_of(st.none(), st.sampled_from(["system_health: timed out", "chain_getHeader: JSON-RPC error"])),
        "step": st.integers(-3, 2),  # head movement since the previous poll
        "lag": st.integers(0, 8),
        "readiness_status": st.sampled_from([200, 200, 500]),
        "readiness_supported": st.booleans(),
        "is_syncing": st.booleans(),
        "peers": st.integers(0, 4),
        "should_have_peers": st.booleans(),
        "behind": st.one_of(st.none(), st.integers(-2, 15)),  # None: lag unknown
    }
)


def build(polls: list[dict]) -> list[Sample]:
    samples, t, best = [], 0.0, 1000
    for p in polls:
        t += p["dt"]
        best += p["step"]
        if p["error"] is not None:
            samples.append(Sample(at=t, error=p["error"]))
            continue
        names = ("readiness_status", "readiness_supported", "is_syncing", "peers", "should_have_peers")
        fields = {k: p[k] for k in names}
        sync = {} if p["behind"] is None else dict(current=best, highest=best + p["behind"])
        samples.append(Sample(at=t, best=best, finalized=best - p["lag"], **fields, **sync))
    return samples


def visibly_bad(sample: Sample, cfg: Settings) -> bool:
    """An oracle written independently of the probe for the per-poll rules (not the head)."""
    if sample.error is not None:
        return True
    return (
        (sample.readiness_supported and sample.readiness_status != 200)
        or sample.is_syncing
        or (sample.should_have_peers and sample.peers < cfg.min_peers)
        or sample.best - sample.finalized > cfg.max_finality_lag
        or (sample.highest is not None and sample.highest - sample.current > cfg.max_network_lag)
    )


@hsettings(max_examples=300, deadline=None)
@given(cfg=settings_st, polls=st.lists(poll_st, min_size=1, max_size=40))
def test_properties_of_any_sequence(cfg, polls):
    samples = build(polls)
    states = run(samples, cfg)
    prev = ProbeState()
    for i, (sample, state) in enumerate(zip(samples, states)):
        became_ready = state.ready and not prev.ready
        # A failed poll never makes a node ready.
        if not sample.rpc_ok:
            assert not became_ready
        if became_ready:
            # Becoming ready needs the last `rise` polls good (and one more before them:
            # the start-up rule needs a baseline head, so never before poll rise + 1).
            assert i >= cfg.rise
            assert not any(visibly_bad(s, cfg) for s in samples[i - cfg.rise + 1 : i + 1])
        if i + 1 >= cfg.fall and all(visibly_bad(s, cfg) for s in samples[i - cfg.fall + 1 : i + 1]):
            # `fall` bad polls in a row always end readiness.
            assert not state.ready
        if not state.ready:
            assert state.reasons, "a not-ready verdict must say why"
        prev = state


# --------------------------------------------------------------------------- liveness


def test_live_while_the_node_answers_even_when_nothing_else_is_right():
    # Stalled, syncing, behind the network, without peers, finality far behind: all
    # routing problems. The process answers, so it is live and is never replaced.
    chain = Chain()
    state = run(chain.polls(4))[-1]
    bad = chain.polls(20, advance=False, lag=500, is_syncing=True, peers=0, current=1, highest=900,
                      readiness_status=500)
    state = run(bad, state=state)[-1]
    assert not state.ready
    assert liveness(state, chain.t, DEFAULTS) == (True, "last JSON-RPC answer 0.0s ago")


def test_not_live_after_live_seconds_without_an_answer():
    chain = Chain()
    state = run(chain.polls(4))[-1]
    answered_at = chain.t
    # 6 failed polls: 30 s without an answer is still live (limit 30 s), the 7th is not.
    states = run(chain.polls(7, error="system_health: timed out"), state=state)
    assert liveness(states[5], chain.t - 5, DEFAULTS)[0]
    alive, reason = liveness(states[6], chain.t, DEFAULTS)
    assert not alive and reason == f"no JSON-RPC answer for {chain.t - answered_at:.0f}s (limit 30s)"


def test_a_failed_poll_that_got_an_answer_keeps_the_node_live():
    chain = Chain()
    state = run(chain.polls(2))[-1]
    partial = Sample(at=chain.t + 40, error="chain_getFinalizedHead: timed out", best=chain.best, answered=True)
    assert liveness(evaluate(state, partial, DEFAULTS), chain.t + 40, DEFAULTS)[0]


def test_not_live_before_any_answer():
    assert liveness(ProbeState(), 0.0, DEFAULTS) == (False, "no JSON-RPC answer from the node yet")
    state = evaluate(ProbeState(), Sample(at=1.0, error="system_health: connection refused"), DEFAULTS)
    assert not liveness(state, 1.0, DEFAULTS)[0]


@hsettings(max_examples=200, deadline=None)
@given(polls=st.lists(st.tuples(st.floats(0.1, 20.0), st.booleans()), min_size=1, max_size=40))
def test_liveness_is_exactly_the_age_of_the_last_answer(polls):
    state, t, last = ProbeState(), 0.0, None
    for dt, answered in polls:
        t += dt
        state = evaluate(state, Sample(at=t, error=None if answered else "x", answered=answered,
                                       **(GOOD if answered else {})), DEFAULTS)
        last = t if answered else last
        alive, _ = liveness(state, t, DEFAULTS)
        assert alive == (last is not None and t - last <= DEFAULTS.live_seconds)


GOOD = dict(readiness_status=200, is_syncing=False, peers=8, should_have_peers=True, best=1, finalized=1)


@pytest.mark.parametrize("value, number", [(None, None), (7, 7), ("0x1f", 31), ("0x00000010", 16)])
def test_sync_state_numbers_may_be_integers_hex_or_null(value, number):
    from constructs_substrate.probe.readiness_probe import _block_number

    assert _block_number(value, "highestBlock") == number


@pytest.mark.parametrize("value", [True, "seven", [1], 1.5])
def test_bad_sync_state_numbers_fail_the_poll(value):
    from constructs_substrate.probe.readiness_probe import PollError, _block_number

    with pytest.raises(PollError, match="system_syncState: bad highestBlock"):
        _block_number(value, "highestBlock")
