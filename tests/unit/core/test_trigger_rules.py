"""Trigger rules decide like Airflow 2.x's TriggerRuleDep, for every rule and upstream mix."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradewind.core.states import TaskInstanceState as TI
from tradewind.core.trigger_rules import (
    Decision,
    TriggerRule,
    UpstreamStates,
    evaluate,
    validate_trigger_rule,
)

R = TriggerRule
WAIT, RUN, SKIP, UF = Decision.WAIT, Decision.RUN, Decision.SKIP, Decision.UPSTREAM_FAILED

# Upstream mixes by short name: s=success k=skipped f=failed u=upstream_failed r=removed
# n=not finished yet (no state). Each row: mix -> expected decision per rule.
_LETTER = {"s": TI.SUCCESS, "k": TI.SKIPPED, "f": TI.FAILED, "u": TI.UPSTREAM_FAILED,
           "r": TI.REMOVED, "n": None}  # fmt: skip

# fmt: off
TABLE: dict[str, dict[TriggerRule, Decision]] = {
    #        all_success all_failed all_done all_skipped one_success one_failed one_done none_failed nf_min_one none_skipped always all_done_setup_success (no setups: as all_done)
    "ss":   dict(zip(R, [RUN,  SKIP, RUN,  SKIP, RUN,  SKIP, RUN,  RUN,  RUN,  RUN,  RUN, RUN], strict=True)),
    "sn":   dict(zip(R, [WAIT, SKIP, WAIT, SKIP, RUN,  WAIT, RUN,  WAIT, WAIT, WAIT, RUN, WAIT], strict=True)),
    "nn":   dict(zip(R, [WAIT, WAIT, WAIT, WAIT, WAIT, WAIT, WAIT, WAIT, WAIT, WAIT, RUN, WAIT], strict=True)),
    "fn":   dict(zip(R, [UF,   WAIT, WAIT, SKIP, WAIT, RUN,  RUN,  UF,   UF,   WAIT, RUN, WAIT], strict=True)),
    "un":   dict(zip(R, [UF,   WAIT, WAIT, SKIP, WAIT, RUN,  WAIT, UF,   UF,   WAIT, RUN, WAIT], strict=True)),
    "kn":   dict(zip(R, [SKIP, SKIP, WAIT, WAIT, WAIT, WAIT, WAIT, WAIT, WAIT, SKIP, RUN, WAIT], strict=True)),
    "ff":   dict(zip(R, [UF,   RUN,  RUN,  SKIP, UF,   RUN,  RUN,  UF,   UF,   RUN,  RUN, RUN], strict=True)),
    "fu":   dict(zip(R, [UF,   RUN,  RUN,  SKIP, UF,   RUN,  RUN,  UF,   UF,   RUN,  RUN, RUN], strict=True)),
    "uu":   dict(zip(R, [UF,   RUN,  RUN,  SKIP, UF,   RUN,  SKIP, UF,   UF,   RUN,  RUN, RUN], strict=True)),
    "kk":   dict(zip(R, [SKIP, SKIP, RUN,  RUN,  SKIP, SKIP, SKIP, RUN,  SKIP, SKIP, RUN, RUN], strict=True)),
    "sk":   dict(zip(R, [SKIP, SKIP, RUN,  SKIP, RUN,  SKIP, RUN,  RUN,  RUN,  SKIP, RUN, RUN], strict=True)),
    "sf":   dict(zip(R, [UF,   SKIP, RUN,  SKIP, RUN,  RUN,  RUN,  UF,   UF,   RUN,  RUN, RUN], strict=True)),
    "kf":   dict(zip(R, [UF,   SKIP, RUN,  SKIP, UF,   RUN,  RUN,  UF,   UF,   SKIP, RUN, RUN], strict=True)),
    "ku":   dict(zip(R, [UF,   SKIP, RUN,  SKIP, UF,   RUN,  SKIP, UF,   UF,   SKIP, RUN, RUN], strict=True)),
    "skf":  dict(zip(R, [UF,   SKIP, RUN,  SKIP, RUN,  RUN,  RUN,  UF,   UF,   SKIP, RUN, RUN], strict=True)),
    # removed upstreams never block the "all ..." rules
    "sr":   dict(zip(R, [RUN,  SKIP, RUN,  SKIP, RUN,  SKIP, RUN,  RUN,  RUN,  RUN,  RUN, RUN], strict=True)),
    "fr":   dict(zip(R, [UF,   RUN,  RUN,  SKIP, UF,   RUN,  RUN,  UF,   UF,   RUN,  RUN, RUN], strict=True)),
    "kr":   dict(zip(R, [SKIP, SKIP, RUN,  RUN,  UF,   SKIP, SKIP, RUN,  SKIP, SKIP, RUN, RUN], strict=True)),
    "rr":   dict(zip(R, [RUN,  RUN,  RUN,  RUN,  UF,   SKIP, SKIP, RUN,  SKIP, RUN,  RUN, RUN], strict=True)),
    "rn":   dict(zip(R, [WAIT, WAIT, WAIT, WAIT, WAIT, WAIT, WAIT, WAIT, WAIT, WAIT, RUN, WAIT], strict=True)),
}
# fmt: on


def states(mix: str) -> UpstreamStates:
    return UpstreamStates.from_states(_LETTER[c] for c in mix)


def test_the_table_covers_every_rule() -> None:
    assert all(set(row) == set(TriggerRule) for row in TABLE.values())


@pytest.mark.parametrize("mix", list(TABLE))
@pytest.mark.parametrize("rule", list(TriggerRule))
def test_decision_matches_airflow(mix: str, rule: TriggerRule) -> None:
    assert evaluate(rule, states(mix)) is TABLE[mix][rule]


@pytest.mark.parametrize("rule", list(TriggerRule))
def test_a_task_without_upstreams_runs_whatever_its_rule(rule: TriggerRule) -> None:
    assert evaluate(rule, UpstreamStates()) is RUN
    assert evaluate(rule.value, UpstreamStates.from_states([])) is RUN


def test_rules_are_accepted_by_their_airflow_strings() -> None:
    assert evaluate("one_success", states("sn")) is RUN
    assert validate_trigger_rule("none_failed_min_one_success") is R.NONE_FAILED_MIN_ONE_SUCCESS
    assert str(R.ALL_DONE) == "all_done" and str(Decision.UPSTREAM_FAILED) == "upstream_failed"


def test_an_unknown_rule_is_refused_with_the_valid_ones_listed() -> None:
    with pytest.raises(ValueError, match="'all_sucess'.*all_success, all_failed"):
        validate_trigger_rule("all_sucess")
    with pytest.raises(ValueError, match="valid rules"):
        evaluate("dummy", states("s"))


def test_counts_from_states_accept_strings_and_ignore_unfinished_states() -> None:
    up = UpstreamStates.from_states(
        ["success", TI.SUCCESS, "skipped", "failed", "upstream_failed", "removed",
         None, "running", "queued", "up_for_retry", "deferred"]
    )  # fmt: skip
    assert up == UpstreamStates(
        success=2, skipped=1, failed=1, upstream_failed=1, removed=1, done=6, total=11
    )


def test_counts_from_a_group_by_query() -> None:
    up = UpstreamStates.from_counts({"success": 3, TI.FAILED: 1, "running": 2, None: 1}, total=7)
    assert up == UpstreamStates(success=3, failed=1, done=4, total=7)


def test_a_task_waits_while_an_upstream_is_up_for_retry() -> None:
    assert evaluate(R.ALL_SUCCESS, UpstreamStates.from_states(["success", "up_for_retry"])) is WAIT


@pytest.mark.parametrize(
    "kwargs",
    [
        {"success": 1, "done": 0, "total": 1},  # done is not the sum of the finished counts
        {"success": 2, "done": 2, "total": 1},  # more done than upstreams
        {"failed": -1, "done": -1, "total": 0},
    ],
)
def test_inconsistent_counts_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="UpstreamStates"):
        UpstreamStates(**kwargs)


upstream_lists = st.lists(
    st.sampled_from([TI.SUCCESS, TI.SKIPPED, TI.FAILED, TI.UPSTREAM_FAILED, TI.REMOVED,
                     TI.RUNNING, TI.UP_FOR_RETRY, None]),
    max_size=8,
)  # fmt: skip


@given(upstream_lists, st.sampled_from(list(TriggerRule)))
def test_never_wait_once_every_upstream_is_done(ups: list[TI | None], rule: TriggerRule) -> None:
    finished = [s for s in ups if s not in (TI.RUNNING, TI.UP_FOR_RETRY, None)]
    assert evaluate(rule, UpstreamStates.from_states(finished)) is not WAIT


@given(upstream_lists, st.sampled_from(list(TriggerRule)))
def test_a_verdict_holds_as_more_upstreams_finish(ups: list[TI | None], rule: TriggerRule) -> None:
    """Once decided, a task never goes back to waiting, and a RUN stays a RUN.

    So the scheduler may act on the first verdict (Airflow does: a skip is written at once).
    """
    finals = [TI.SUCCESS, TI.SKIPPED, TI.FAILED, TI.UPSTREAM_FAILED, TI.REMOVED]
    first = evaluate(rule, UpstreamStates.from_states(ups))
    if first is WAIT:
        return
    for final in finals:
        later = [final if s in (TI.RUNNING, TI.UP_FOR_RETRY, None) else s for s in ups]
        verdict = evaluate(rule, UpstreamStates.from_states(later))
        assert verdict is not WAIT
        if first is RUN:
            assert verdict is RUN


@given(upstream_lists)
def test_failures_never_let_all_success_or_none_failed_run(ups: list[TI | None]) -> None:
    up = UpstreamStates.from_states(ups)
    if up.failed or up.upstream_failed:
        for rule in (R.ALL_SUCCESS, R.NONE_FAILED, R.NONE_FAILED_MIN_ONE_SUCCESS):
            assert evaluate(rule, up) is UF


@given(upstream_lists)
def test_all_success_runs_only_when_every_upstream_succeeded_or_was_removed(
    ups: list[TI | None],
) -> None:
    up = UpstreamStates.from_states(ups)
    runs = evaluate(R.ALL_SUCCESS, up) is RUN
    assert runs == all(s in (TI.SUCCESS, TI.REMOVED) for s in ups)


@pytest.mark.parametrize(
    ("mix", "setups", "expected"),
    [
        ("sfn", "s", WAIT),  # the work is not done yet
        ("sf", "s", RUN),  # a teardown runs after failed work when its setup succeeded
        ("ff", "f", UF),  # its setup failed
        ("kk", "k", SKIP),  # its setup was skipped
        ("sfk", "sk", RUN),  # one of its setups succeeded
    ],
)
def test_teardown_rule_looks_at_its_setups(mix: str, setups: str, expected: Decision) -> None:
    assert evaluate(R.ALL_DONE_SETUP_SUCCESS, states(mix), states(setups)) is expected
