"""Every write of task-instance and DAG-run state: UPDATEs built here, checked by the table.

No other module writes ``update(TaskInstance)`` or ``update(DagRun)`` (a test reads the
sources to keep it so). :func:`ti_update` and :func:`run_update` build a compare-and-set
``UPDATE ... SET state = <to> WHERE <where> AND state IN (<from-states>)`` and refuse, when
they build it, any (from, to) pair the transition table of ``core/states.py`` forbids; the
hot paths build theirs once at import, so a forbidden move fails when the module loads, and
costs nothing per call. :func:`ti_columns` / :func:`run_columns` write other columns only. A
user's "mark success/failed" is the one write from any state (``audited=True``, event-logged
by its caller).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, or_, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Update

from tradewind.core.states import (
    DAG_RUN_TRANSITIONS,
    DagRunState,
    TaskInstanceState,
    can_transition,
)
from tradewind.errors import Conflict
from tradewind.metastore.tables import DagRun, TaskInstance

State = TaskInstanceState | None
#: ``from_states`` of an audited mark: whatever the state is now.
ANY: Any = "<any state>"

_TIT = cast(Table, TaskInstance.__table__)
_TIc = _TIT.c
_DRT = cast(Table, DagRun.__table__)
_DRc = _DRT.c


def _as_list(states: Any) -> list[Any]:
    if states is None or isinstance(states, str):
        return [states]
    return list(states)


def _state_clause(column: Any, states: list[Any]) -> Any:
    values = [s.value if hasattr(s, "value") else s for s in states if s is not None]
    parts = []
    if len(values) == 1:
        parts.append(column == values[0])
    elif values:
        parts.append(column.in_(values))
    if any(s is None for s in states):
        parts.append(column.is_(None))
    return or_(*parts) if len(parts) > 1 else parts[0]


def _set_state(to: Any) -> Any:
    """``SET state = <to>``: a literal, or ``:new_state`` when ``to`` lists several states."""
    if to is None or isinstance(to, str):
        return getattr(to, "value", to)
    return bindparam("new_state")


def check_ti_moves(from_states: Any, to: Any) -> None:
    """Raise Conflict unless the table allows every ``from -> to`` pair."""
    for src in _as_list(from_states):
        for dst in _as_list(to):
            if not can_transition(src, dst):
                raise Conflict(f"task instance cannot move from {src or 'none'} to {dst or 'none'}")


def check_run_moves(from_states: Any, to: Any) -> None:
    for src in _as_list(from_states):
        for dst in _as_list(to):
            if DagRunState(dst) not in DAG_RUN_TRANSITIONS[DagRunState(src)]:
                raise Conflict(f"DAG run cannot move from {src} to {dst}")


def ti_update(
    from_states: Any, to: Any, *where: Any, audited: bool = False, **values: Any
) -> Update:
    """``UPDATE task_instance SET state = to, **values WHERE *where AND state IN from_states``.

    ``from_states``: a state, None (no state) or several; ``to``: a state or None, or several
    states (then bound as ``:new_state``). ``audited``: a user's mark, from any state
    (``from_states`` is :data:`ANY`).
    """
    stmt = update(_TIT)
    if from_states is ANY:
        if not audited:
            raise Conflict("only an audited mark may move a task instance from any state")
    else:
        check_ti_moves(from_states, to)
        stmt = stmt.where(_state_clause(_TIc.state, _as_list(from_states)))
    return stmt.where(*where).values(state=_set_state(to), **values)


def ti_columns(*where: Any, **values: Any) -> Update:
    """``UPDATE task_instance SET **values WHERE *where``, never the state."""
    if "state" in values:
        raise Conflict("a task instance's state is written by ti_update only")
    return update(_TIT).where(*where).values(**values)


def run_update(
    from_states: Any, to: Any, *where: Any, audited: bool = False, **values: Any
) -> Update:
    """The DAG-run counterpart of :func:`ti_update`, checked by ``DAG_RUN_TRANSITIONS``."""
    stmt = update(_DRT)
    if from_states is ANY:
        if not audited:
            raise Conflict("only an audited mark may move a DAG run from any state")
    else:
        check_run_moves(from_states, to)
        stmt = stmt.where(_state_clause(_DRc.state, _as_list(from_states)))
    return stmt.where(*where).values(state=_set_state(to), **values)


def run_columns(*where: Any, **values: Any) -> Update:
    """``UPDATE dag_run SET **values WHERE *where``, never the state."""
    if "state" in values:
        raise Conflict("a DAG run's state is written by run_update only")
    return update(_DRT).where(*where).values(**values)


_TOUCH = run_columns(
    _DRc.dag_id == bindparam("b_dag_id"), _DRc.run_id == bindparam("b_run_id")
).values(change_seq=_DRc.change_seq + 1)


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

    Raises Conflict when the transition table forbids an ``expected -> new`` (a bug or a
    user asking for something impossible), so callers never silently write a bad state.
    """
    del check  # every move is checked
    stmt = ti_update(expected, new, _TIc.id == ti_id, updated_at=now, **values)
    ok = bool(session.execute(stmt.execution_options(synchronize_session=False)).rowcount)  # type: ignore[attr-defined]
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
    check_ti_moves(expected, new)
    moved = 0
    for i in range(0, len(ti_ids), 500):
        chunk = ti_ids[i : i + 500]
        stmt = ti_update(expected, new, _TIc.id.in_(chunk), updated_at=now, **values)
        moved += session.execute(stmt.execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    return moved
