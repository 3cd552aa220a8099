"""Task instance and XCom queries (joined with their run)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select
from sqlalchemy.sql.visitors import iterate

from tradewind.errors import NotFound
from tradewind.metastore.tables import (
    DagRun,
    TaskInstance,
    TaskInstanceHistory,
    XCom,
)
from tradewind.services.queries.cursor import CursorPage, cursor_page
from tradewind.services.queries.paging import (
    WILDCARD,
    Page,
    Paging,
    paged,
    paged_nulls_last,
    pattern_clause,
    range_clauses,
)

# -- task instances ---------------------------------------------------------------------------
TI_ORDER = {
    "id": TaskInstance.id,
    "map_index": TaskInstance.map_index,
    "rendered_map_index": TaskInstance.rendered_map_index,
    "task_id": TaskInstance.task_id,
    "dag_id": TaskInstance.dag_id,
    "run_id": TaskInstance.run_id,
    "dag_run_id": TaskInstance.run_id,
    "state": TaskInstance.state,
    "start_date": TaskInstance.start_date,
    "end_date": TaskInstance.end_date,
    "duration": TaskInstance.duration,
    "try_number": TaskInstance.try_number,
    "pool": TaskInstance.pool,
    "queue": TaskInstance.queue,
    "priority_weight": TaskInstance.priority_weight,
    "operator": TaskInstance.operator,
    "updated_at": TaskInstance.updated_at,
    "logical_date": DagRun.logical_date,
    "run_after": DagRun.run_after,
}

TiRow = tuple[TaskInstance, DagRun]


def ti_query() -> Select[Any]:
    """Task instances joined with their run (for ``logical_date`` and ``run_after``)."""
    return select(TaskInstance, DagRun).join(
        DagRun, and_(DagRun.dag_id == TaskInstance.dag_id, DagRun.run_id == TaskInstance.run_id)
    )


def state_clause(column: Any, states: Sequence[str]) -> Any | None:
    """``state IN (...)``, where ``none``/``no_status`` stand for no state (NULL)."""
    if not states:
        return None
    real = [s for s in states if s not in ("none", "no_status", "null", "")]
    parts = [column.in_(real)] if real else []
    if len(real) != len(states):
        parts.append(column.is_(None))
    return or_(*parts)


_RUN_FIELDS = {"logical_date", "run_after"}


def _uses_runs(conditions: list[Any], order_by: Sequence[str]) -> bool:
    """Whether a filter or the ordering reads a column of ``dag_run``."""
    if any(name.lstrip("-") in _RUN_FIELDS for name in order_by):
        return True
    run_table = DagRun.__table__
    return any(
        getattr(node, "table", None) is run_table
        for c in conditions
        if c is not None
        for node in iterate(c)
    )


def runs_of(session: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], DagRun]:
    """The runs of these ``(dag_id, run_id)`` keys, in one query.

    ``dag_id IN (...) AND run_id IN (...)`` uses the (dag_id, run_id) unique index on SQLite,
    where a row-value ``IN`` scans the whole table; extra pairs it matches are dropped.
    """
    if not keys:
        return {}
    query = select(DagRun).where(
        DagRun.dag_id.in_(sorted({d for d, _ in keys})),
        DagRun.run_id.in_(sorted({r for _, r in keys})),
    )
    found = {(r.dag_id, r.run_id): r for r in session.scalars(query)}
    return {key: run for key, run in found.items() if key in keys}


def _with_tie_break(order_by: Sequence[str]) -> tuple[str, ...]:
    """The order with ``id`` last, in the first term's direction (as Airflow's)."""
    order = tuple(n for n in order_by if n) or ("map_index",)
    if any(n.lstrip("-") == "id" for n in order):
        return order
    return (*order, "-id" if order[0].startswith("-") else "id")


def list_task_instances(session: Session, conditions: list[Any], paging: Paging) -> Page[TiRow]:
    """A page of task instances with their runs, in Airflow's order (NULLs last).

    ``id`` breaks ties in the first term's direction, so each order has an index:
    ``(map_index, id)`` for the default, ``(start_date, id)``, and for ``logical_date`` the
    runs' ``(logical_date, id)`` walked into each run's task instances. Unless a filter
    needs the run, the COUNT reads ``task_instance`` alone (through its smallest index),
    and unless the order needs it too, so does the page, whose runs come in one more query.
    """
    paging = Paging(paging.limit, paging.offset, _with_tie_break(paging.order_by))
    filters_runs = _uses_runs(conditions, ())
    if filters_runs or _uses_runs([], paging.order_by):
        count = ti_query() if filters_runs else select(TaskInstance)
        return paged_nulls_last(
            session, ti_query(), conditions, paging, TI_ORDER, count_query=count, scalars=False
        )
    page = paged_nulls_last(session, select(TaskInstance), conditions, paging, TI_ORDER)
    runs = runs_of(session, {(ti.dag_id, ti.run_id) for ti in page.items})
    rows = [
        (ti, runs[(ti.dag_id, ti.run_id)]) for ti in page.items if (ti.dag_id, ti.run_id) in runs
    ]
    return Page(rows, page.total)


def get_task_instance(
    session: Session, dag_id: str, run_id: str, task_id: str, map_index: int = -1
) -> TiRow:
    """One task instance with its run, or NotFound."""
    row = session.execute(
        ti_query().where(
            TaskInstance.dag_id == dag_id,
            TaskInstance.run_id == run_id,
            TaskInstance.task_id == task_id,
            TaskInstance.map_index == map_index,
        )
    ).first()
    if row is None:
        raise NotFound(
            f"The Task Instance with dag_id: `{dag_id}`, run_id: `{run_id}`, task_id: "
            f"`{task_id}` and map_index: `{map_index}` was not found"
        )
    return row[0], row[1]


def ti_tries(session: Session, ti: TaskInstance) -> list[TaskInstanceHistory]:
    """The finished earlier tries of a task instance, oldest first."""
    return list(
        session.scalars(
            select(TaskInstanceHistory)
            .where(
                TaskInstanceHistory.dag_id == ti.dag_id,
                TaskInstanceHistory.run_id == ti.run_id,
                TaskInstanceHistory.task_id == ti.task_id,
                TaskInstanceHistory.map_index == ti.map_index,
            )
            .order_by(TaskInstanceHistory.try_number)
        )
    )


@dataclass(frozen=True)
class TiFilter:
    """The filters of the task-instance list endpoints; ``~``/None for "any"."""

    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    states: Sequence[str] = ()
    pools: Sequence[str] = ()
    queues: Sequence[str] = ()
    executors: Sequence[str] = ()
    try_numbers: Sequence[int] = ()
    map_indexes: Sequence[int] = ()
    operators: Sequence[str] = ()
    task_pattern: str | None = None
    run_id_pattern: str | None = None
    dag_id_pattern: str | None = None
    dag_ids: Sequence[str] = ()
    run_ids: Sequence[str] = ()
    task_ids: Sequence[str] = ()
    ranges: dict[str, dict[str, Any]] = field(default_factory=dict)

    def conditions(self) -> list[Any]:
        """The WHERE terms of this filter."""
        ti = TaskInstance
        out: list[Any] = []
        for column, value in (
            (ti.dag_id, self.dag_id),
            (ti.run_id, self.run_id),
            (ti.task_id, self.task_id),
        ):
            if value is not None and value != WILDCARD:
                out.append(column == value)
        for column, values in (
            (ti.pool, self.pools),
            (ti.queue, self.queues),
            (ti.executor, self.executors),
            (ti.try_number, self.try_numbers),
            (ti.map_index, self.map_indexes),
            (ti.operator, self.operators),
            (ti.dag_id, self.dag_ids),
            (ti.run_id, self.run_ids),
            (ti.task_id, self.task_ids),
        ):
            if values:
                out.append(column.in_(list(values)))
        out.append(state_clause(ti.state, self.states))
        out.append(pattern_clause(ti.task_id, self.task_pattern))
        out.append(pattern_clause(ti.run_id, self.run_id_pattern))
        out.append(pattern_clause(ti.dag_id, self.dag_id_pattern))
        columns = {
            "logical_date": DagRun.logical_date,
            "run_after": DagRun.run_after,
            "start_date": ti.start_date,
            "end_date": ti.end_date,
            "updated_at": ti.updated_at,
            "duration": ti.duration,
        }
        for name, bounds in self.ranges.items():
            if name in columns:
                out.extend(range_clauses(columns[name], **bounds))
        return out


def xcom_conditions(
    dag_id: str,
    run_id: str,
    task_id: str,
    key: str | None,
    map_index: int | None,
    patterns: dict[str, str | None] | None = None,
) -> list[Any]:
    """WHERE terms for XCom entries; ``~`` in a path part means any."""
    out: list[Any] = []
    for column, value in ((XCom.dag_id, dag_id), (XCom.run_id, run_id), (XCom.task_id, task_id)):
        if value != WILDCARD:
            out.append(column == value)
    if key is not None:
        out.append(XCom.key == key)
    if map_index is not None:
        out.append(XCom.map_index == map_index)
    columns = {
        "xcom_key_pattern": XCom.key,
        "run_id_pattern": XCom.run_id,
        "task_id_pattern": XCom.task_id,
        "dag_id_pattern": XCom.dag_id,
    }
    for name, value in (patterns or {}).items():
        if name in columns:
            out.append(pattern_clause(columns[name], value))
    return out


# -- XCom -------------------------------------------------------------------------------------
XCOM_ORDER = {
    "dag_id": XCom.dag_id,
    "task_id": XCom.task_id,
    "run_id": XCom.run_id,
    "map_index": XCom.map_index,
    "key": XCom.key,
    "timestamp": XCom.timestamp,
}


def xcom_query() -> Select[Any]:
    """XCom rows joined with their run."""
    return select(XCom, DagRun).join(
        DagRun, and_(DagRun.dag_id == XCom.dag_id, DagRun.run_id == XCom.run_id)
    )


def list_xcoms(
    session: Session, conditions: list[Any], paging: Paging
) -> Page[tuple[XCom, DagRun]]:
    """A page of XCom entries (values are not decoded here)."""
    return paged(session, xcom_query(), conditions, paging, XCOM_ORDER, "dag_id", scalars=False)


def get_xcom_row(
    session: Session, dag_id: str, run_id: str, task_id: str, key: str, map_index: int
) -> tuple[XCom, DagRun]:
    """One XCom entry with its run, or NotFound."""
    row = session.execute(
        xcom_query().where(
            XCom.dag_id == dag_id,
            XCom.run_id == run_id,
            XCom.task_id == task_id,
            XCom.key == key,
            XCom.map_index == map_index,
        )
    ).first()
    if row is None:
        raise NotFound(f"XCom entry with key: `{key}` not found")
    return row[0], row[1]


def list_task_instances_after(
    session: Session, conditions: list[Any], order_by: Sequence[str], limit: int, cursor: str
) -> CursorPage:
    """A page of task instances with their runs by cursor (keyset paging; ``id`` breaks ties).

    As ``list_task_instances``: ``task_instance`` alone unless a filter or the order needs
    the run, then the page's runs in one more query.
    """
    order = tuple(n for n in order_by if n) or ("map_index",)
    if not any(n.lstrip("-") == "id" for n in order):
        order = (*order, "id")
    if _uses_runs(conditions, order):
        return cursor_page(
            session, ti_query(), conditions, order, TI_ORDER, limit, cursor, scalars=False
        )
    page = cursor_page(session, select(TaskInstance), conditions, order, TI_ORDER, limit, cursor)
    runs = runs_of(session, {(ti.dag_id, ti.run_id) for ti in page.items})
    page.items = [
        (ti, runs[(ti.dag_id, ti.run_id)]) for ti in page.items if (ti.dag_id, ti.run_id) in runs
    ]
    return page
