"""Expanding mapped tasks: one task instance per element, created when the upstream is done.

A run starts with one task instance of a mapped task at ``map_index`` -1 (a placeholder).
When its trigger rule lets it run, :func:`expand` counts the elements from the serialized
``expand_input`` (literal lengths, and the upstream XComs it reads) and turns the placeholder
into instances 0..n-1: the placeholder becomes index 0 and the others are inserted in one
statement, already ``scheduled``. Zero elements skip the task, as in Airflow. Expanding again
(after a clear) marks indexes past the new length ``removed`` and adds the missing ones.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, func, insert, select
from sqlalchemy.orm import Session

from tradewind.core.states import FINISHED_STATES
from tradewind.core.states import TaskInstanceState as TI
from tradewind.metastore.tables import TaskInstance, XCom
from tradewind.sdk.mapping_runtime import RENDERED_MAP_INDEX
from tradewind.sdk.serialization import SerializedDag, SerializedTask
from tradewind.services.ti_state import ti_columns, ti_update

TIT = cast(Table, TaskInstance.__table__)
TIc = TIT.c
_FINISHED = {s.value for s in FINISHED_STATES}


class NotReady(Exception):
    """An upstream the task maps over has not finished all its instances yet."""


class Unmappable(Exception):
    """The task cannot be expanded; the message says why (shown in the task's note)."""

    def __init__(self, message: str, state: TI = TI.FAILED):
        super().__init__(message)
        self.ti_state = state


@dataclass
class Expansion:
    """What expanding one mapped task decided; ``states`` is every instance's state after it."""

    schedule: list[int] = field(default_factory=list)  # ids to move none -> scheduled
    inserted: int = 0
    states: list[str | None] = field(default_factory=list)
    moved: int = 0  # rows changed here (not through ``schedule``)


class Counter:
    """Counts the elements of serialized expand inputs for one run."""

    def __init__(self, session: Session, run: Any, sdag: SerializedDag):
        self.session = session
        self.run = run
        self.sdag = sdag

    def total(self, expand: dict[str, Any]) -> int:
        if expand["type"] == "nested":  # mapped again inside a mapped group: G * n
            return self.total(expand["group"]) * self.total(expand["inner"])
        if expand["type"] == "list_of_dicts":
            return self.length(expand["value"])
        return math.prod(self.length(ref) for ref in expand["value"].values())

    def length(self, ref: dict[str, Any]) -> int:
        kind = ref["kind"]
        if kind == "literal":
            return int(ref["length"])
        if kind == "map":
            return self.length(ref["source"])
        if kind == "zip":
            parts = [self.length(a) for a in ref["args"]]
            return max(parts) if ref.get("fill") else min(parts)
        if kind == "concat":
            return sum(self.length(a) for a in ref["args"])
        return self._xcom_length(ref["task_id"], ref["key"])

    def _xcom_length(self, task_id: str, key: str) -> int:
        up = self.sdag.tasks.get(task_id)
        where = and_(
            XCom.dag_id == self.run.dag_id, XCom.run_id == self.run.run_id, XCom.task_id == task_id
        )
        if up is not None and up.is_mapped:
            states = self.session.execute(
                select(TIc.state).where(
                    TIc.dag_id == self.run.dag_id,
                    TIc.run_id == self.run.run_id,
                    TIc.task_id == task_id,
                )
            ).scalars()
            if any(s not in _FINISHED for s in states):
                raise NotReady(task_id)
            q = select(func.count()).where(where, XCom.key == key, XCom.map_index >= 0)
            return int(self.session.execute(q).scalar_one())
        raw = self.session.execute(
            select(XCom.value).where(where, XCom.key == key, XCom.map_index == -1)
        ).scalar_one_or_none()
        if raw is None:
            raise Unmappable(
                f"task {task_id!r} pushed no XCom {key!r} to map over", TI.UPSTREAM_FAILED
            )
        value = json.loads(raw)
        if not isinstance(value, list | dict):
            raise Unmappable(
                f"task {task_id!r} pushed {type(value).__name__} under {key!r}: only a list or "
                "a dict can be mapped"
            )
        return len(value)


def _row(run: Any, task: SerializedTask, map_index: int, now: datetime) -> dict[str, Any]:
    return {
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "task_id": task.task_id,
        "map_index": map_index,
        "state": TI.SCHEDULED.value,
        "try_number": 1,
        "max_tries": task.retries,
        "pool": task.pool,
        "pool_slots": task.pool_slots,
        "queue": task.queue,
        "priority_weight": task.priority_weight,
        "operator": task.operator,
        "hostname": "",
        "unixname": "",
        "dag_version": run.dag_version,
        "scheduled_dttm": now,
        "updated_at": now,
    }


def _set(
    session: Session,
    ids: list[int],
    now: datetime,
    *,
    move: tuple[TI | None, TI | None] | None = None,
    **values: Any,
) -> int:
    """Write ``values`` on ``ids``; with ``move=(from, to)`` also their state, through the
    transition table's compare-and-set (``ti_update``)."""
    moved = 0
    for i in range(0, len(ids), 500):
        where = TIc.id.in_(ids[i : i + 500])
        stmt = (
            ti_update(move[0], move[1], where, updated_at=now, **values)
            if move is not None
            else ti_columns(where, updated_at=now, **values)
        )
        moved += session.execute(stmt).rowcount  # type: ignore[attr-defined]
    return moved


def expand(
    session: Session,
    run: Any,
    sdag: SerializedDag,
    task: SerializedTask,
    now: datetime,
    max_map_length: int,
    *,
    leave_waiting: bool = False,
) -> Expansion | None:
    """Expand (or re-expand) the mapped ``task`` in ``run``; None while an upstream it maps
    over is still running. Only task instances with no state are touched (plus ``removed``
    ones brought back when the element count grows again)."""
    rows = list(
        session.execute(
            select(TIc.id, TIc.map_index, TIc.state).where(
                TIc.dag_id == run.dag_id, TIc.run_id == run.run_id, TIc.task_id == task.task_id
            )
        ).all()
    )
    try:
        n = Counter(session, run, sdag).total(task.expand_input)
        if n > max_map_length:
            raise Unmappable(
                f"task {task.task_id!r} would expand to {n} instances, over [core] "
                f"max_map_length ({max_map_length})"
            )
    except NotReady:
        return None
    except Unmappable as exc:
        return _fail(session, rows, exc, now)
    return _apply(session, run, task, rows, n, now, leave_waiting)


def _fail(session: Session, rows: list[Any], exc: Unmappable, now: datetime) -> Expansion:
    waiting = [r.id for r in rows if r.state is None]
    out = Expansion(states=[r.state for r in rows if r.state is not None])
    out.moved = _set(
        session,
        waiting,
        now,
        move=(None, exc.ti_state),
        start_date=now,
        end_date=now,
        note=str(exc)[:1000],
    )
    out.states += [exc.ti_state.value] * len(waiting)
    return out


def _apply(
    session: Session,
    run: Any,
    task: SerializedTask,
    rows: list[Any],
    n: int,
    now: datetime,
    leave_waiting: bool = False,
) -> Expansion:
    out = Expansion()
    by_index = {r.map_index: r for r in rows}
    final: dict[int, str | None] = {r.map_index: r.state for r in rows}
    to_removed = [r.id for r in rows if r.map_index >= n and r.state is None]
    placeholder = by_index.get(-1)
    if n == 0:
        if placeholder is None:
            row = _row(run, task, -1, now) | {"state": TI.SKIPPED.value, "try_number": 0}
            session.execute(insert(TIT), [row | {"start_date": now, "end_date": now}])
            out.inserted, final[-1] = 1, TI.SKIPPED.value
        elif placeholder.state is None:
            out.moved += _set(
                session,
                [placeholder.id],
                now,
                move=(None, TI.SKIPPED),
                start_date=now,
                end_date=now,
            )
            final[-1] = TI.SKIPPED.value
    elif placeholder is not None and placeholder.state is None:
        if 0 in by_index:  # expanded before: the placeholder is not needed any more
            to_removed.append(placeholder.id)
        else:
            out.moved += _set(session, [placeholder.id], now, map_index=0)
            by_index[0] = placeholder
            final[0] = final.pop(-1)
    revived = [r.id for i, r in by_index.items() if 0 <= i < n and r.state == TI.REMOVED.value]
    if revived:  # back in range after a shrink: run again
        out.moved += _set(session, revived, now, move=(TI.REMOVED, None))
    out.schedule = [r.id for i, r in by_index.items() if 0 <= i < n and r.state is None] + revived
    for i in range(n):
        if by_index.get(i) is not None and final.get(i) in (None, TI.REMOVED.value):
            final[i] = TI.SCHEDULED.value
    missing = [i for i in range(n) if i not in by_index]
    waiting = {"state": None, "try_number": 0, "scheduled_dttm": None} if leave_waiting else {}
    for i in range(0, len(missing), 1000):
        chunk = missing[i : i + 1000]
        session.execute(insert(TIT), [_row(run, task, m, now) | waiting for m in chunk])
    out.inserted += len(missing)
    final.update(dict.fromkeys(missing, TI.SCHEDULED.value))
    if to_removed:
        out.moved += _set(session, to_removed, now, move=(None, TI.REMOVED))
        for r in rows:
            if r.id in set(to_removed):
                final[r.map_index if r is not placeholder else -1] = TI.REMOVED.value
    out.states = list(final.values())
    return out


def split_rendered(rendered_fields: dict[str, Any]) -> dict[str, Any]:
    """The columns a finished try writes from what the worker rendered: the fields, and the
    instance's name (``map_index_template``) when it has one."""
    out: dict[str, Any] = {"rendered_fields": rendered_fields}
    if RENDERED_MAP_INDEX in rendered_fields:
        fields = dict(rendered_fields)
        name = fields.pop(RENDERED_MAP_INDEX)
        out = {
            "rendered_fields": fields,
            "rendered_map_index": None if name is None else str(name)[:250],
        }
    return out
