"""The one state a collapsed task group or a mapped task shows: the most alarming one wins."""

from __future__ import annotations

from tradewind.services.ui_queries import mapped_state
from tradewind.ui.pages_dags import group_state


def test_a_group_shows_its_most_alarming_child_state() -> None:
    assert group_state(["success", "failed", None]) == "failed"
    assert group_state(["success", "running", "queued"]) == "running"
    assert group_state(["success", None]) == "none"  # not started yet beats done
    assert group_state(["success", "skipped"]) == "success"
    assert group_state([]) == "none"


def test_a_group_and_a_mapped_task_follow_the_same_rule() -> None:
    for states in (["up_for_retry", "success"], ["deferred", "scheduled"], ["removed"]):
        counts = {s: states.count(s) for s in states}
        assert group_state(list(states)) == mapped_state(counts)
