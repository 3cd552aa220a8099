"""The end of a try in the metastore: the compare-and-set of its task instance, its history
row, the lost-try event, and its run marked changed (``ExecutionService.finish_try``).

Hot path: the statements are prebuilt (one per shape of the SET list), each checked against
the transition table once, when first built.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from tradewind.core.execution import Outcome
from tradewind.core.states import TaskInstanceState as TI
from tradewind.errors import NotFound, TaskInstanceMoved
from tradewind.metastore.tables import DagRun, TaskInstance, TaskInstanceHistory
from tradewind.services.outcomes import log_lost
from tradewind.services.ti_state import run_columns, ti_update

TIT = cast(Table, TaskInstance.__table__)
TIc = TIT.c
DRc = cast(Table, DagRun.__table__).c
HT = cast(Table, TaskInstanceHistory.__table__)

# finish's statements (the update's SET list varies: one prebuilt statement per shape).
_TI_ROW = select(TIT).where(TIc.id == bindparam("ti_id"))
_HISTORY_INSERT = insert(HT)
_TOUCH_RUN = run_columns(
    DRc.dag_id == bindparam("of_dag"), DRc.run_id == bindparam("of_run")
).values(change_seq=DRc.change_seq + 1)
_FINISH_UPDATES: dict[tuple[frozenset[str], TI, TI | None], Any] = {}
_TRY_HISTORY = (
    select(HT.c.state)
    .where(HT.c.ti_id == bindparam("ti_id"), HT.c.try_number == bindparam("for_try"))
    .order_by(HT.c.id.desc())
    .limit(1)
)
# The states a try's outcome leaves it in (``outcomes.next_state``): a repeated report of the
# outcome finds one of these.
_ENDED_BY = {
    Outcome.SUCCESS: frozenset({TI.SUCCESS.value}),
    Outcome.SKIPPED: frozenset({TI.SKIPPED.value}),
    Outcome.FAILED: frozenset({TI.FAILED.value, TI.UP_FOR_RETRY.value}),
    Outcome.FAIL_NO_RETRY: frozenset({TI.FAILED.value}),
}


def _finish_update(keys: frozenset[str], current: TI, new: TI | None) -> Any:
    """``UPDATE task_instance SET state, <keys> WHERE id, state, try_number``, bound values;
    one prebuilt statement per shape, each checked by the transition table once."""
    shape = (keys, current, new)
    stmt = _FINISH_UPDATES.get(shape)
    if stmt is None:
        stmt = _FINISH_UPDATES[shape] = ti_update(
            current,
            new,
            TIc.id == bindparam("ti_id"),
            TIc.try_number == bindparam("for_try"),
            TIc.queue_seq == bindparam("for_seq"),
        ).values({k: bindparam(f"v_{k}") for k in sorted(keys)})
    return stmt


def history_row(
    ti: Any, state: str | None, error: str | None, *, end_date: Any = None, duration: Any = None
) -> dict[str, Any]:
    """The ``task_instance_history`` row of the try of ``ti`` (an ORM object or a Core row)."""
    return {
        "ti_id": ti.id,
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "task_id": ti.task_id,
        "map_index": ti.map_index,
        "try_number": ti.try_number,
        "max_tries": ti.max_tries,
        "state": state,
        "start_date": ti.start_date,
        "end_date": end_date if end_date is not None else ti.end_date,
        "duration": duration if duration is not None else ti.duration,
        "queued_dttm": ti.queued_dttm,
        "pool": ti.pool,
        "pool_slots": ti.pool_slots,
        "queue": ti.queue,
        "priority_weight": ti.priority_weight,
        "operator": ti.operator,
        "hostname": ti.hostname,
        "pid": ti.pid,
        "executor": ti.executor,
        "error": (error or "")[-20000:] or None,
    }


def record_history(session: Session, ti: Any, state: str | None, error: str | None) -> None:
    """Keep a row for the try that just ended (the tries' history)."""
    session.execute(insert(HT).values(**history_row(ti, state, error)))


def reported_try(c: Any, ti_id: int, try_number: int, expected: tuple[TI, ...]) -> Any:
    """The task instance row a report is about; TaskInstanceMoved unless it is still on that
    try in one of the ``expected`` states."""
    ti = c.execute(_TI_ROW, {"ti_id": ti_id}).one_or_none()
    if ti is None:
        raise NotFound(f"task instance {ti_id} not found")
    if ti.try_number != try_number or ti.state not in {e.value for e in expected}:
        raise TaskInstanceMoved(
            f"task instance {ti.dag_id}.{ti.task_id} is {ti.state or 'none'} at try "
            f"{ti.try_number}; the report for try {try_number} is ignored"
        )
    return ti


def repeated_finish(c: Any, ti_id: int, try_number: int, seq: int, outcome: Outcome) -> str | None:
    """The state this leg's try ended in, if it already ended with ``outcome``: the worker's
    retry of a finish whose answer it never got (the HTTP answer lost after the commit).
    None if the try did not end so (a report to refuse).

    A try has one history row, written by the compare-and-set that ended it, which only its
    current leg passes; no other leg of the try can hold an outcome to report (an earlier leg
    ended by its own defer or reschedule, or never claimed), so the row needs no leg column
    (docs/architecture.md, "Choices recorded")."""
    ended = _ENDED_BY.get(outcome)
    ti = c.execute(_TI_ROW, {"ti_id": ti_id}).one_or_none()
    if ended is None or ti is None or ti.try_number < try_number:
        return None
    if ti.try_number == try_number:
        if ti.queue_seq != seq:
            return None  # another leg of this try: only the leg that ended it may repeat
        if ti.state in ended:
            return str(ti.state)
    # The try was archived since (a retry scheduled, or the task instance cleared): its
    # history row keeps the state it ended in; a try still open has none.
    kept = c.execute(_TRY_HISTORY, {"ti_id": ti_id, "for_try": try_number}).scalar()
    return kept if kept in ended else None


def write_finish(
    c: Any,
    ti: Any,
    current: TI,
    new: TI | None,
    kept: str,
    error: str | None,
    values: dict[str, Any],
    outcome: Outcome,
    now: datetime,
) -> None:
    """The end of a try in the metastore: the compare-and-set, its history row, the lost-try
    event, and the run marked changed."""
    params = {
        "ti_id": ti.id,
        "for_try": ti.try_number,
        "for_seq": ti.queue_seq,
        **{f"v_{k}": v for k, v in values.items()},
    }
    if not c.execute(_finish_update(frozenset(values), current, new), params).rowcount:
        raise TaskInstanceMoved(f"task instance {ti.dag_id}.{ti.task_id} changed meanwhile")
    duration = values["duration"]
    c.execute(_HISTORY_INSERT, history_row(ti, kept, error, end_date=now, duration=duration))
    if outcome is Outcome.LOST and current is TI.RUNNING:
        log_lost(c, ti, new, error, now)
    c.execute(_TOUCH_RUN, {"of_dag": ti.dag_id, "of_run": ti.run_id})
