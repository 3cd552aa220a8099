"""What the outcome of a try leads to: the next state, the retry delay, a lost try's record.

A failed try uses one of the task's retries; a lost one (Tradewind's own process went away)
is requeued without using one, at most ``[scheduler] max_lost_try_requeues`` times.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tradewind.core.execution import Outcome
from tradewind.core.states import TaskInstanceState as TI

MAX_RETRY_DELAY = timedelta(hours=24)
#: The history state of a try that Tradewind lost (its own process went away).
LOST = "lost"


def retry_delay_for(task: Any, try_number: int) -> timedelta:
    """Return how long to wait before the next try (exponential backoff if asked)."""
    base = float(task.retry_delay or 0)
    if task.retry_exponential_backoff:
        base = base * (2 ** max(try_number - 1, 0))
    cap = task.max_retry_delay
    limit = float(cap) if cap is not None else MAX_RETRY_DELAY.total_seconds()
    return timedelta(seconds=min(math.ceil(base), limit))


def next_state(
    ti: Any,
    current: TI,
    outcome: Outcome,
    task: Any,
    error: str | None,
    values: dict[str, Any],
    now: datetime,
    *,
    max_lost: int,
    no_delay: bool = False,
) -> tuple[TI | None, str, str | None]:
    """The state an outcome leads to, the state the try's history row keeps, its error;
    adds what else changes to ``values``."""
    if current is TI.RESTARTING:
        return None, TI.RESTARTING.value, error
    if outcome is Outcome.SUCCESS:
        return TI.SUCCESS, TI.SUCCESS.value, error
    if outcome is Outcome.SKIPPED:
        return TI.SKIPPED, TI.SKIPPED.value, error
    if outcome is Outcome.LOST:
        # Tradewind's own process went away, not the task's code: run it again without
        # using one of its retries, a bounded number of times.
        lost = int(ti.lost_count or 0) + 1
        if lost <= max_lost:
            values.update(
                try_number=ti.try_number + 1,
                max_tries=ti.max_tries + 1,
                lost_count=lost,
                scheduled_dttm=now,
                next_retry_at=None,
            )
            return TI.SCHEDULED, LOST, error
        values["lost_count"] = lost
        why = (
            f"the task's try was lost {lost} times ([scheduler] max_lost_try_requeues = "
            f"{max_lost}): failing it"
        )
        return TI.FAILED, LOST, f"{error}; {why}" if error else why
    if outcome is not Outcome.FAIL_NO_RETRY and ti.try_number <= ti.max_tries:
        delay = timedelta(0) if (no_delay or task is None) else retry_delay_for(task, ti.try_number)
        values["next_retry_at"] = now + delay
        return TI.UP_FOR_RETRY, TI.UP_FOR_RETRY.value, error
    return TI.FAILED, TI.FAILED.value, error


def log_lost(c: Any, ti: Any, new: TI | None, error: str | None, now: datetime) -> None:
    """The event log records each lost try: requeued, or failed past the limit."""
    from tradewind.services.event_log import log_event

    with Session(bind=c) as s:
        log_event(
            s,
            "lost_try_requeued" if new is TI.SCHEDULED else "lost_try_failed",
            now=now,
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            task_id=ti.task_id,
            try_number=ti.try_number,
            extra={"reason": (error or "")[-2000:], "map_index": ti.map_index},
        )
        s.flush()
