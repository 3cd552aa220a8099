"""The one try supervisor: deadline, heartbeats, stop, lost reason, on a hand-driven clock."""

from __future__ import annotations

import os
import signal

import pytest

from tradewind.core.execution import Workload
from tradewind.worker.supervision import INF, TIMEOUT_GRACE, TryWatch


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def workload(timeout: float | None = None) -> Workload:
    return Workload(1, "d", "r", "t", -1, 1, "/f.py", None, "tok", timeout=timeout)


def watch(clock: Clock, *, timeout=None, answers=None, beat=True):  # noqa: ANN001, ANN201
    kills: list[str] = []
    beats: list[float] = []
    answers = list(answers or [])

    def heartbeat() -> str | None:
        beats.append(clock.now)
        return answers.pop(0) if answers else None

    w = TryWatch(
        workload(timeout),
        kill=kills.append,
        heartbeat=heartbeat if beat else None,
        every=5.0,
        clock=clock,
    )
    return w, kills, beats


def test_no_heartbeat_before_the_claim_nor_while_the_outcome_is_reported() -> None:
    clock = Clock()
    w, kills, beats = watch(clock)
    assert w.wait() is None  # nothing due: no deadline, not claimed
    clock.now += 60
    assert not w.tick() and beats == []
    w.claimed()
    assert w.wait() == 5.0
    clock.now += 5
    assert not w.tick() and beats == [165.0]
    clock.now += 4.9
    assert not w.tick() and beats == [165.0]
    clock.now += 0.1
    w.tick()
    assert beats == [165.0, 170.0]
    w.reporting_outcome()
    clock.now += 60
    assert not w.tick() and beats == [165.0, 170.0] and kills == []


def test_a_stop_answer_stops_the_try_once_with_its_reason() -> None:
    clock = Clock()
    w, kills, _ = watch(clock, answers=[None, "the task instance was moved away"])
    w.claimed()
    clock.now += 5
    assert not w.tick()
    clock.now += 5
    assert w.tick()
    assert kills == ["the task instance was moved away"]
    clock.now += 5
    assert w.tick() and kills == ["the task instance was moved away"]  # stopped once
    assert w.stop_reason == "the task instance was moved away"


def test_the_deadline_is_the_timeout_plus_a_grace_even_without_heartbeats() -> None:
    clock = Clock()
    w, kills, _ = watch(clock, timeout=10, beat=False)
    assert w.deadline == 100.0 + 10 + TIMEOUT_GRACE
    assert w.wait() == 10 + TIMEOUT_GRACE
    clock.now += 10 + TIMEOUT_GRACE - 0.01
    assert not w.tick()
    clock.now += 0.01
    assert w.tick()
    assert kills == ["the task exceeded its execution_timeout of 10 s"]


def test_no_timer_at_all_without_timeout_nor_heartbeat() -> None:
    w, _, _ = watch(Clock(), beat=False)
    w.claimed()
    assert w.next_due() == INF and w.wait() is None


@pytest.mark.parametrize(
    ("status", "stopped", "why"),
    [
        (0, None, None),
        (3 << 8, None, "exit code 3"),
        (signal.SIGKILL, None, "signal SIGKILL"),
        (0, "the executor is shutting down", "the executor is shutting down"),
        (signal.SIGKILL, "it exceeded", "it exceeded"),
    ],
)
def test_the_lost_reason_says_how_the_process_ended(
    status: int, stopped: str | None, why: str | None
) -> None:
    w, _, _ = watch(Clock())
    if stopped:
        w.stop(stopped)
    assert w.lost_reason(status) == why
    assert os.waitstatus_to_exitcode(status) is not None
