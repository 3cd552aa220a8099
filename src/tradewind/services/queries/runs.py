"""DAG run list queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from tradewind.errors import NotFound
from tradewind.metastore.tables import (
    DagModel,
    DagRun,
)
from tradewind.services.queries.cursor import CursorPage, cursor_page
from tradewind.services.queries.paging import (
    Page,
    Paging,
    paged,
    pattern_clause,
    range_clauses,
)

# -- DAG runs ---------------------------------------------------------------------------------
RUN_ORDER = {
    "id": DagRun.id,
    "state": DagRun.state,
    "dag_id": DagRun.dag_id,
    "run_id": DagRun.run_id,
    "dag_run_id": DagRun.run_id,
    "logical_date": DagRun.logical_date,
    "run_after": DagRun.run_after,
    "start_date": DagRun.start_date,
    "end_date": DagRun.end_date,
    "queued_at": DagRun.queued_at,
    "updated_at": DagRun.id,
    "run_type": DagRun.run_type,
    "conf": DagRun.id,
    "data_interval_start": DagRun.data_interval_start,
    "data_interval_end": DagRun.data_interval_end,
}


def run_conditions(
    dag_ids: Sequence[str] | None,
    *,
    states: Sequence[str] = (),
    run_types: Sequence[str] = (),
    run_id_pattern: str | None = None,
    ranges: dict[str, dict[str, datetime | None]] | None = None,
    conf_contains: str | None = None,
) -> list[Any]:
    """WHERE terms for a list of runs; ``dag_ids`` None means every DAG."""
    out: list[Any] = []
    if dag_ids is not None:
        out.append(
            DagRun.dag_id.in_(list(dag_ids)) if len(dag_ids) != 1 else DagRun.dag_id == dag_ids[0]
        )
    if states:
        out.append(DagRun.state.in_(list(states)))
    if run_types:
        out.append(DagRun.run_type.in_(list(run_types)))
    out.append(pattern_clause(DagRun.run_id, run_id_pattern))
    for field, bounds in (ranges or {}).items():
        out.extend(range_clauses(getattr(DagRun, field), **bounds))
    if conf_contains:
        out.append(cast(DagRun.conf, Text).contains(conf_contains, autoescape=True))
    return out


def list_runs(session: Session, conditions: list[Any], paging: Paging) -> Page[DagRun]:
    """A page of DAG runs."""
    return paged(session, select(DagRun), conditions, paging, RUN_ORDER, "id")


def get_dag_run(session: Session, dag_id: str, run_id: str) -> DagRun:
    """One run; raise NotFound (Airflow's message)."""
    run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    if run is None:
        raise NotFound(f"The DagRun with dag_id: `{dag_id}` and run_id: `{run_id}` was not found")
    return run


def runs_by_id(session: Session, dag_id: str, run_ids: Iterable[str]) -> dict[str, DagRun]:
    """The runs of one DAG with those run ids, by run id."""
    ids = sorted(set(run_ids))
    out: dict[str, DagRun] = {}
    for i in range(0, len(ids), 500):
        query = select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id.in_(ids[i : i + 500]))
        out.update({r.run_id: r for r in session.scalars(query)})
    return out


def list_runs_after(
    session: Session, conditions: list[Any], order_by: Sequence[str], limit: int, cursor: str
) -> CursorPage:
    """A page of DAG runs by cursor (keyset paging; ``id`` breaks ties)."""
    order = _with_id(order_by or ("id",))
    return cursor_page(session, select(DagRun), conditions, order, RUN_ORDER, limit, cursor)


def _with_id(order: Sequence[str]) -> tuple[str, ...]:
    names = tuple(n for n in order if n)
    return names if any(n.lstrip("-") == "id" for n in names) else (*names, "id")


def run_state_counts(session: Session, dag_ids: Sequence[str] | None) -> dict[str, dict[str, int]]:
    """``dag_id -> state -> number of runs``, for the DAGs with runs (of ``dag_ids``)."""
    return {dag_id: counts for dag_id, _, counts in dag_run_stats(session, dag_ids)}


def dag_run_stats(
    session: Session, dag_ids: Sequence[str] | None
) -> list[tuple[str, str, dict[str, int]]]:
    """``(dag_id, display name, state -> number of runs)`` per DAG with runs, by dag_id.

    One query: the counts are grouped first (an index-only walk of ``(dag_id, state)``),
    then joined with ``dag`` for the names, so the join touches one row per DAG and state.
    """
    from sqlalchemy import func

    grouped = select(DagRun.dag_id, DagRun.state, func.count().label("n")).group_by(
        DagRun.dag_id, DagRun.state
    )
    if dag_ids:
        grouped = grouped.where(DagRun.dag_id.in_(list(dag_ids)))
    counts = grouped.subquery()
    query = (
        select(counts.c.dag_id, counts.c.state, counts.c.n, DagModel.display_name)
        .outerjoin(DagModel, DagModel.dag_id == counts.c.dag_id)
        .order_by(counts.c.dag_id)
    )
    out: dict[str, tuple[str, dict[str, int]]] = {}
    for dag_id, state, n, name in session.execute(query):
        out.setdefault(dag_id, (name or dag_id, {}))[1][state] = int(n)
    return [(dag_id, name, states) for dag_id, (name, states) in out.items()]
