"""Task-instance and DAG-run states, with the one table of allowed transitions.

State strings are Airflow's, so API clients and DAG files port over unchanged. ``None``
(no state) is the state of a task instance before the scheduler has looked at it.
"""

from __future__ import annotations

from enum import StrEnum


class TaskInstanceState(StrEnum):
    """The state of one task instance (one task in one DAG run)."""

    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    UP_FOR_RETRY = "up_for_retry"
    UP_FOR_RESCHEDULE = "up_for_reschedule"
    UPSTREAM_FAILED = "upstream_failed"
    SKIPPED = "skipped"
    DEFERRED = "deferred"
    REMOVED = "removed"
    RESTARTING = "restarting"


class DagRunState(StrEnum):
    """The state of one DAG run."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


class DagRunType(StrEnum):
    """Why a DAG run exists; the prefix of generated run ids."""

    SCHEDULED = "scheduled"
    MANUAL = "manual"
    BACKFILL = "backfill"
    ASSET_TRIGGERED = "asset_triggered"

    def generate_run_id(self, suffix: str) -> str:
        """Return an Airflow-style run id such as ``manual__2026-01-01T00:00:00+00:00``."""
        return f"{self.value}__{suffix}"


TI = TaskInstanceState
_NONE = None

#: Every allowed task-instance transition: from-state -> the states it may move to.
#: ``None`` stands for "no state". A user's "mark success/failed" bypasses this table (audited).
TI_TRANSITIONS: dict[TaskInstanceState | None, frozenset[TaskInstanceState | None]] = {
    # none -> failed: a mapped task whose input cannot expand (not a list or dict, longer than
    # [core] max_map_length) fails without running, as in Airflow.
    None: frozenset({TI.SCHEDULED, TI.SKIPPED, TI.UPSTREAM_FAILED, TI.REMOVED, TI.FAILED}),
    # scheduled -> failed: it can never get its slots (pool too small); -> skipped: its run
    # ended first (fail_fast, dagrun_timeout) or a branch skipped it.
    TI.SCHEDULED: frozenset({TI.QUEUED, TI.FAILED, TI.SKIPPED, None}),
    TI.QUEUED: frozenset({TI.RUNNING, TI.SCHEDULED, TI.FAILED, TI.UP_FOR_RETRY, None}),
    # running -> scheduled: the try was lost (Tradewind's own process went away), requeued
    # without using a retry.
    TI.RUNNING: frozenset(
        {
            TI.SCHEDULED,
            TI.SUCCESS,
            TI.FAILED,
            TI.UP_FOR_RETRY,
            TI.UP_FOR_RESCHEDULE,
            TI.DEFERRED,
            TI.SKIPPED,
            TI.RESTARTING,
        }
    ),
    # -> skipped: the run ended before the next try (fail_fast, dagrun_timeout).
    TI.UP_FOR_RETRY: frozenset({TI.SCHEDULED, TI.SKIPPED, None}),
    TI.UP_FOR_RESCHEDULE: frozenset({TI.SCHEDULED, TI.SKIPPED, None}),
    TI.DEFERRED: frozenset({TI.SCHEDULED, TI.FAILED, None}),
    TI.RESTARTING: frozenset({TI.UP_FOR_RETRY, None}),
    TI.SUCCESS: frozenset({None}),
    TI.FAILED: frozenset({None}),
    TI.SKIPPED: frozenset({None}),
    TI.UPSTREAM_FAILED: frozenset({None}),
    TI.REMOVED: frozenset({None}),
}

#: States after which a task instance will not change again unless cleared.
FINISHED_STATES: frozenset[TaskInstanceState] = frozenset(
    {TI.SUCCESS, TI.FAILED, TI.SKIPPED, TI.UPSTREAM_FAILED, TI.REMOVED}
)
#: States in which a task occupies an executor slot (and pool slots).
RUNNING_STATES: frozenset[TaskInstanceState] = frozenset({TI.QUEUED, TI.RUNNING})
#: States that count as "not done yet" for a DAG run.
UNFINISHED_STATES: frozenset[TaskInstanceState | None] = frozenset(
    {
        None,
        TI.SCHEDULED,
        TI.QUEUED,
        TI.RUNNING,
        TI.UP_FOR_RETRY,
        TI.UP_FOR_RESCHEDULE,
        TI.DEFERRED,
        TI.RESTARTING,
    }
)

DAG_RUN_TRANSITIONS: dict[DagRunState, frozenset[DagRunState]] = {
    DagRunState.QUEUED: frozenset({DagRunState.RUNNING, DagRunState.SUCCESS, DagRunState.FAILED}),
    DagRunState.RUNNING: frozenset({DagRunState.SUCCESS, DagRunState.FAILED, DagRunState.QUEUED}),
    DagRunState.SUCCESS: frozenset({DagRunState.QUEUED}),
    DagRunState.FAILED: frozenset({DagRunState.QUEUED}),
}


def parse_ti_state(value: str | None) -> TaskInstanceState | None:
    """Turn a stored or user-given string into a state; ``None``/"none"/"" mean no state."""
    if value is None or value in ("", "none", "None", "null"):
        return None
    return TaskInstanceState(value)


def can_transition(
    current: TaskInstanceState | str | None, new: TaskInstanceState | str | None
) -> bool:
    """Return whether the transition table allows ``current -> new``."""
    cur = parse_ti_state(current) if not isinstance(current, TaskInstanceState) else current
    nxt = parse_ti_state(new) if not isinstance(new, TaskInstanceState) else new
    return nxt in TI_TRANSITIONS[cur]


def sources_of(new: TaskInstanceState | None) -> frozenset[TaskInstanceState | None]:
    """Return every state from which ``new`` may be reached (for compare-and-set updates)."""
    return frozenset(src for src, dests in TI_TRANSITIONS.items() if new in dests)


def can_transition_run(current: DagRunState | str, new: DagRunState | str) -> bool:
    """Return whether a DAG run may move from ``current`` to ``new``."""
    return DagRunState(new) in DAG_RUN_TRANSITIONS[DagRunState(current)]
