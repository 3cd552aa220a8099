"""Read queries behind the web pages: every one bounded by LIMIT and served by an index.

The pages never count or sort a whole history: the DAGs page reads the latest run of each DAG
through ``ix_dag_run_dag_id_id``, the grid reads the task instances of at most ``limit`` runs
through ``ix_ti_dag_run_state``, and browse lists page by "one more row than shown" instead of
counting millions of task instances.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from tradewind.core.states import TaskInstanceState as TI
from tradewind.metastore.tables import (
    Connection,
    DagFile,
    DagModel,
    DagRun,
    EventLog,
    Pool,
    TaskInstance,
    TaskInstanceHistory,
    Variable,
    XCom,
)

RECENT_RUNS = 25


@dataclass
class DagRow:
    """One line of the DAGs page."""

    dag: DagModel
    latest_run: Any = None  # a row with dag_id, run_id, state, start_date, run_after
    run_states: Counter[str] = field(default_factory=Counter)
    task_states: Counter[str] = field(default_factory=Counter)

    @property
    def failing(self) -> bool:
        return self.latest_run is not None and self.latest_run.state == "failed"


@dataclass
class DagsPage:
    """A page of DAGs and how many match the filters."""

    rows: list[DagRow]
    total: int
    all_tags: list[str]


def _latest_run_id_of(dag_id_col: Any) -> Any:
    """Correlated subquery: the id of a DAG's newest run (one index seek per DAG)."""
    return (
        select(DagRun.id)
        .where(DagRun.dag_id == dag_id_col)
        .order_by(DagRun.id.desc())
        .limit(1)
        .correlate(DagModel)
        .scalar_subquery()
    )


def dags_page(
    session: Session,
    *,
    search: str = "",
    tag: str = "",
    paused: bool | None = None,
    limit: int = 25,
    offset: int = 0,
    failed_since: datetime | None = None,
) -> DagsPage:
    """DAGs matching the filters, those whose latest run failed first, then by dag id.

    ``failed_since``: only DAGs with a run that failed (ended) at or after that time.
    """
    where = [DagModel.is_active.is_(True)]
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = "%" + escaped + "%"
        where.append(
            or_(DagModel.dag_id.ilike(like, escape="\\"), DagModel.owners.ilike(like, escape="\\"))  # type: ignore[arg-type]
        )
    if tag:
        # tags is a JSON list; matching the quoted tag in its text form works on every backend.
        where.append(cast(DagModel.tags, Text).contains(json.dumps(tag)))  # type: ignore[arg-type]
    if paused is not None:
        where.append(DagModel.is_paused.is_(paused))
    if failed_since is not None:
        where.append(
            DagModel.dag_id.in_(
                select(DagRun.dag_id).where(
                    DagRun.state == "failed", DagRun.end_date >= failed_since
                )
            )
        )
    latest_state = (
        select(DagRun.state)
        .where(DagRun.id == _latest_run_id_of(DagModel.dag_id))
        .scalar_subquery()
    )
    failed_first = case((latest_state == "failed", 0), else_=1)
    query = (
        select(DagModel)
        .where(*where)
        .order_by(failed_first, DagModel.dag_id)
        .limit(limit)
        .offset(offset)
    )
    dags = list(session.scalars(query))
    total = int(session.scalar(select(func.count()).select_from(DagModel).where(*where)) or 0)
    rows = [DagRow(dag=d) for d in dags]
    _fill_runs(session, rows)
    return DagsPage(rows=rows, total=total, all_tags=_all_tags(session))


def _all_tags(session: Session) -> list[str]:
    """Every tag of an active DAG (the dag table is small: one row per DAG id)."""
    tags: set[str] = set()
    for (value,) in session.execute(select(DagModel.tags).where(DagModel.is_active.is_(True))):
        tags.update(value or [])
    return sorted(tags)


def _fill_runs(session: Session, rows: list[DagRow]) -> None:
    """Recent run states per DAG and the task states of each DAG's latest run."""
    latest: dict[str, Any] = {}
    for row in rows:
        # Plain rows, not ORM objects: 25 DAGs x 25 runs per page load.
        runs = session.execute(
            select(DagRun.dag_id, DagRun.run_id, DagRun.state, DagRun.start_date, DagRun.run_after)
            .where(DagRun.dag_id == row.dag.dag_id)
            .order_by(DagRun.id.desc())
            .limit(RECENT_RUNS)
        ).all()
        row.run_states = Counter(r.state for r in runs)
        if runs:
            row.latest_run = latest[row.dag.dag_id] = runs[0]
    if not latest:
        return
    pairs = [
        and_(TaskInstance.dag_id == r.dag_id, TaskInstance.run_id == r.run_id)
        for r in latest.values()
    ]
    counts = session.execute(
        select(TaskInstance.dag_id, TaskInstance.state, func.count())
        .where(or_(*pairs))
        .group_by(TaskInstance.dag_id, TaskInstance.state)
    )
    by_dag = {row.dag.dag_id: row for row in rows}
    for dag_id, state, n in counts:
        by_dag[dag_id].task_states[state or "none"] += n


@dataclass
class Grid:
    """Runs (oldest first) and the state of every task instance of them."""

    runs: list[DagRun]
    #: ``(run_id, task_id) -> state`` ("none" for no state yet); plain tuples, no ORM objects,
    #: because a grid holds thousands of cells.
    cells: dict[tuple[str, str], str]
    has_older: bool
    #: {(run_id, task_id): {state: count}} for mapped tasks' instances
    mapped: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)


def grid(
    session: Session, dag_id: str, *, limit: int = RECENT_RUNS, before_id: int | None = None
) -> Grid:
    """The newest ``limit`` runs of a DAG (or those before ``before_id``) with their TIs' states."""
    query = select(DagRun).where(DagRun.dag_id == dag_id)
    if before_id is not None:
        query = query.where(DagRun.id < before_id)
    runs = list(session.scalars(query.order_by(DagRun.id.desc()).limit(limit + 1)))
    has_older = len(runs) > limit
    runs = list(reversed(runs[:limit]))
    cells: dict[tuple[str, str], str] = {}
    mapped: dict[tuple[str, str], dict[str, int]] = {}
    if runs:
        # Counted by the database: a mapped task's 1,000 instances are a few rows per run.
        instance = (TaskInstance.map_index >= 0).label("instance")
        rows = session.execute(
            select(
                TaskInstance.run_id,
                TaskInstance.task_id,
                TaskInstance.state,
                instance,
                func.count(),
            )
            .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id.in_([r.run_id for r in runs]))
            .group_by(TaskInstance.run_id, TaskInstance.task_id, TaskInstance.state, instance)
        )
        for run_id, task_id, state, is_instance, n in rows:
            cells[(run_id, task_id)] = state or "none"
            if is_instance:  # instances of a mapped task: the cell counts them by state
                counts = mapped.setdefault((run_id, task_id), {})
                counts[state or "none"] = counts.get(state or "none", 0) + n
    return Grid(runs=runs, cells=cells, has_older=has_older, mapped=mapped)


def run_states(session: Session, dag_id: str, run_ids: list[str]) -> dict[str, Any]:
    """States of some runs and their TIs (for live refresh): {run_id: {"state", "tasks"}}."""
    out: dict[str, Any] = {}
    if not run_ids:
        return out
    for run_id, state in session.execute(
        select(DagRun.run_id, DagRun.state).where(
            DagRun.dag_id == dag_id, DagRun.run_id.in_(run_ids)
        )
    ):
        out[run_id] = {"state": state, "tasks": {}}
    instance = (TaskInstance.map_index >= 0).label("instance")
    tries = case((TaskInstance.map_index < 0, TaskInstance.try_number), else_=None).label("tries")
    for run_id, task_id, state, try_number, is_instance, n in session.execute(
        select(
            TaskInstance.run_id, TaskInstance.task_id, TaskInstance.state, tries, instance,
            func.count(),
        )
        .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id.in_(list(out)))
        .group_by(TaskInstance.run_id, TaskInstance.task_id, TaskInstance.state, tries, instance)
    ):  # fmt: skip
        if not is_instance:
            out[run_id]["tasks"].setdefault(task_id, {"state": state, "try_number": try_number})
            continue
        entry = out[run_id]["tasks"].get(task_id)
        if entry is None or "counts" not in entry:  # instances win over a removed placeholder
            entry = out[run_id]["tasks"][task_id] = {"state": None, "counts": {}}
        counts = entry["counts"]
        counts[state or "none"] = counts.get(state or "none", 0) + n
        entry["state"] = mapped_state(counts)
    return out


# Which state a mapped task's cell or a collapsed task group shows: the most alarming wins.
_STATE_PRIORITY = (
    "failed",
    "upstream_failed",
    "up_for_retry",
    "restarting",
    "running",
    "deferred",
    "up_for_reschedule",
    "queued",
    "scheduled",
    "none",
    "success",
    "skipped",
    "removed",
)


def mapped_state(counts: dict[str, int]) -> str:
    """The one state shown for a mapped task's instances, from their counts by state."""
    for state in _STATE_PRIORITY:
        if counts.get(state):
            return state
    return "none"


def mapped_instances(
    session: Session, dag_id: str, run_id: str, task_id: str, limit: int = 1000
) -> list[Any]:
    """The instances of a mapped task in one run, by map index (the details panel's list):
    the columns the list shows, not whole rows (1,000 ORM objects cost more than the page)."""
    query = (
        select(
            TaskInstance.map_index,
            TaskInstance.rendered_map_index,
            TaskInstance.state,
            TaskInstance.try_number,
            TaskInstance.duration,
        )
        .where(
            TaskInstance.dag_id == dag_id,
            TaskInstance.run_id == run_id,
            TaskInstance.task_id == task_id,
            TaskInstance.map_index >= 0,
        )
        .order_by(TaskInstance.map_index)
        .limit(limit)
    )
    return list(session.execute(query))


def run_tis(session: Session, dag_id: str, run_id: str) -> list[TaskInstance]:
    """Every TI of one run, by start time (the Gantt's order)."""
    query = select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
    return list(session.scalars(query.order_by(TaskInstance.start_date, TaskInstance.task_id)))


def ti_detail(
    session: Session, dag_id: str, run_id: str, task_id: str, map_index: int = -1
) -> tuple[TaskInstance | None, list[TaskInstanceHistory], list[XCom]]:
    """A task instance, its finished tries and its XComs."""
    ti = session.scalar(
        select(TaskInstance).where(
            TaskInstance.dag_id == dag_id,
            TaskInstance.run_id == run_id,
            TaskInstance.task_id == task_id,
            TaskInstance.map_index == map_index,
        )
    )
    tries = list(
        session.scalars(
            select(TaskInstanceHistory)
            .where(
                TaskInstanceHistory.dag_id == dag_id,
                TaskInstanceHistory.run_id == run_id,
                TaskInstanceHistory.task_id == task_id,
                TaskInstanceHistory.map_index == map_index,
            )
            .order_by(TaskInstanceHistory.try_number)
            .limit(100)
        )
    )
    xcoms = list(
        session.scalars(
            select(XCom)
            .where(
                XCom.dag_id == dag_id,
                XCom.run_id == run_id,
                XCom.task_id == task_id,
                XCom.map_index == map_index,
            )
            .order_by(XCom.key)
            .limit(100)
        )
    )
    return ti, tries, xcoms


def task_durations(
    session: Session, dag_id: str, *, runs: int = RECENT_RUNS
) -> tuple[list[DagRun], list[tuple[str, str, float]]]:
    """The newest ``runs`` runs of a DAG (oldest first) and ``(run_id, task_id, duration)``."""
    newest = list(
        session.scalars(
            select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(runs)
        )
    )
    if not newest:
        return [], []
    rows = session.execute(
        select(TaskInstance.run_id, TaskInstance.task_id, TaskInstance.duration).where(
            TaskInstance.dag_id == dag_id,
            TaskInstance.run_id.in_([r.run_id for r in newest]),
            TaskInstance.duration.is_not(None),
        )
    )
    return list(reversed(newest)), [(r, t, float(d)) for r, t, d in rows]  # type: ignore[arg-type]


def _page(session: Session, query: Any, limit: int, offset: int) -> tuple[list[Any], bool]:
    """One page of ``query`` and whether another page follows (no COUNT over big tables)."""
    items = list(session.scalars(query.limit(limit + 1).offset(offset)))
    return items[:limit], len(items) > limit


def browse_runs(
    session: Session, *, dag_id: str = "", state: str = "", limit: int = 50, offset: int = 0
) -> tuple[list[DagRun], bool]:
    """DAG runs, newest first."""
    query = select(DagRun)
    if dag_id:
        query = query.where(DagRun.dag_id == dag_id)
    if state:
        query = query.where(DagRun.state == state)
    return _page(session, query.order_by(DagRun.id.desc()), limit, offset)


def browse_task_instances(
    session: Session,
    *,
    dag_id: str = "",
    state: str = "",
    start_after: datetime | None = None,
    start_before: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[TaskInstance], bool]:
    """Task instances, newest first, filtered by DAG, state ("none" for no state) and start date."""
    query = select(TaskInstance)
    if dag_id:
        query = query.where(TaskInstance.dag_id == dag_id)
    if state == "none":
        query = query.where(TaskInstance.state.is_(None))
    elif state:
        query = query.where(TaskInstance.state == state)
    if start_after is not None:
        query = query.where(TaskInstance.start_date >= start_after)
    if start_before is not None:
        query = query.where(TaskInstance.start_date < start_before)
    return _page(session, query.order_by(TaskInstance.id.desc()), limit, offset)


def browse_events(
    session: Session, *, dag_id: str = "", event: str = "", limit: int = 50, offset: int = 0
) -> tuple[list[EventLog], bool]:
    """Event log entries, newest first."""
    query = select(EventLog)
    if dag_id:
        query = query.where(EventLog.dag_id == dag_id)
    if event:
        query = query.where(EventLog.event == event)
    return _page(session, query.order_by(EventLog.dttm.desc(), EventLog.id.desc()), limit, offset)


def list_variables(
    session: Session, *, limit: int = 100, offset: int = 0
) -> tuple[list[Variable], bool]:
    """Variables by key (values still encrypted: the page decrypts and masks them)."""
    return _page(session, select(Variable).order_by(Variable.key), limit, offset)


def list_connections(
    session: Session, *, limit: int = 100, offset: int = 0
) -> tuple[list[dict[str, Any]], bool]:
    """Connections by id, without password or extra (never shown back)."""
    rows, more = _page(session, select(Connection).order_by(Connection.conn_id), limit, offset)
    keep = ("conn_id", "conn_type", "description", "host", "schema", "login", "port")
    out = [{k: getattr(c, k) for k in keep} | {"has_password": bool(c.password)} for c in rows]
    return out, more


def list_pools(session: Session) -> list[dict[str, Any]]:
    """Pools with their slots in use (running + queued TIs, from the state index)."""
    pools = list(session.scalars(select(Pool).order_by(Pool.pool).limit(1000)))
    used = dict(
        session.execute(
            select(TaskInstance.pool, func.sum(TaskInstance.pool_slots))
            .where(TaskInstance.state.in_([TI.RUNNING.value, TI.QUEUED.value]))
            .group_by(TaskInstance.pool)
        ).all()
    )
    return [
        {
            "pool": p.pool,
            "slots": p.slots,
            "description": p.description,
            "include_deferred": bool(p.include_deferred),
            "used": int(used.get(p.pool) or 0),
        }
        for p in pools
    ]


def dag_source(session: Session, fileloc: str) -> str | None:
    """The stored source of a DAG file (None if the processor kept none)."""
    return session.scalar(select(DagFile.source).where(DagFile.fileloc == fileloc))
