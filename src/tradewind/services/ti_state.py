"""Compare-and-set writes of task-instance state, checked against the transition table."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, or_, update
from sqlalchemy.orm import Session

from tradewind.core.states import TaskInstanceState, can_transition
from tradewind.errors import Conflict
from tradewind.metastore.tables import DagRun, TaskInstance

State = TaskInstanceState | None


def _state_clause(states: Iterable[State]) -> Any:
    states = list(states)
    values = [s.value for s in states if s is not None]
    parts = []
    if values:
        parts.append(TaskInstance.state.in_(values))
    if any(s is None for s in states):
        parts.append(TaskInstance.state.is_(None))
    return or_(*parts) if len(parts) > 1 else parts[0]


_DRT = cast(Table, DagRun.__table__)
_DRc = _DRT.c
_TOUCH = (
    update(_DRT)
    .where(_DRc.dag_id == bindparam("b_dag_id"), _DRc.run_id == bindparam("b_run_id"))
    .values(change_seq=_DRc.change_seq + 1)
)


def touch_runs(session: Session, keys: Iterable[tuple[str, str]]) -> None:
    """Tell the scheduler these runs changed (bumps ``change_seq``)."""
    # One prebuilt statement for all runs; sorted, so concurrent writers lock rows in the
    # same order.
    params = [{"b_dag_id": d, "b_run_id": r} for d, r in sorted(set(keys))]
    if params:
        session.execute(_TOUCH, params)


def cas(
    session: Session,
    ti_id: int,
    expected: State | Iterable[State],
    new: State,
    *,
    now: datetime,
    check: bool = True,
    run_key: tuple[str, str] | None = None,
    **values: Any,
) -> bool:
    """Move ``ti_id`` to ``new`` only if it is in ``expected``; False when someone moved it.

    Raises Conflict when the transition table forbids every ``expected -> new`` (a bug or a
    user asking for something impossible), so callers never silently write a bad state.
    """
    exp = (
        [expected]
        if expected is None or isinstance(expected, TaskInstanceState)
        else list(expected)
    )
    if check:
        bad = [e for e in exp if not can_transition(e, new)]
        if bad:
            raise Conflict(f"task instance cannot move from {bad[0] or 'none'} to {new or 'none'}")
    result = session.execute(
        update(TaskInstance)
        .where(and_(TaskInstance.id == ti_id, _state_clause(exp)))
        .values(state=new.value if new else None, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    ok = bool(result.rowcount)
    if ok and run_key is not None:
        touch_runs(session, [run_key])
    return ok


def cas_many(
    session: Session,
    ti_ids: list[int],
    expected: State | Iterable[State],
    new: State,
    *,
    now: datetime,
    **values: Any,
) -> int:
    """Like :func:`cas` for many task instances at once; returns how many moved."""
    if not ti_ids:
        return 0
    exp = (
        [expected]
        if expected is None or isinstance(expected, TaskInstanceState)
        else list(expected)
    )
    for e in exp:
        if not can_transition(e, new):
            raise Conflict(f"task instance cannot move from {e or 'none'} to {new or 'none'}")
    moved = 0
    for i in range(0, len(ti_ids), 500):
        chunk = ti_ids[i : i + 500]
        result = session.execute(
            update(TaskInstance)
            .where(and_(TaskInstance.id.in_(chunk), _state_clause(exp)))
            .values(state=new.value if new else None, updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )
        moved += result.rowcount
    return moved
