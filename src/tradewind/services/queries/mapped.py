"""Reads of mapped task instances: ``listMapped`` and its 404s, per-state summaries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tradewind.errors import NotFound
from tradewind.metastore.tables import DagRun, TaskInstance
from tradewind.services.dag_store import get_serialized_dag
from tradewind.services.queries.paging import Page, Paging, pattern_clause, prefix_clause
from tradewind.services.queries.task_instances import TiRow, list_task_instances

__all__ = ["check_mapped_task", "list_mapped", "mapped_summary"]


def check_mapped_task(session: Session, dag_id: str, run_id: str, task_id: str) -> None:
    """NotFound with Airflow's words unless ``task_id`` is a mapped task in that run's DAG."""
    run = session.execute(
        select(DagRun.dag_version).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
    ).first()
    if run is None:
        raise NotFound(f"The DagRun with dag_id: `{dag_id}` and run_id: `{run_id}` was not found")
    try:
        sdag = get_serialized_dag(session, dag_id, run.dag_version)
    except NotFound:
        raise NotFound(f"DAG {dag_id} not found") from None
    task = sdag.tasks.get(task_id)
    if task is None:
        raise NotFound(f"Task id {task_id} not found")
    if not task.is_mapped:
        raise NotFound(f"Task id {task_id} is not mapped")


def list_mapped(
    session: Session,
    conditions: list[Any],
    paging: Paging,
    name_pattern: str | None = None,
    name_prefix: str | None = None,
) -> Page[TiRow]:
    """A page of the instances (map index 0 and up) of a mapped task; the patterns match
    their ``rendered_map_index`` as Airflow's ``rendered_map_index_(prefix_)pattern``."""
    extra = [
        TaskInstance.map_index >= 0,
        pattern_clause(TaskInstance.rendered_map_index, name_pattern),
        prefix_clause(TaskInstance.rendered_map_index, name_prefix),
    ]
    return list_task_instances(session, [*conditions, *extra], paging)


def mapped_summary(
    session: Session, dag_id: str, run_ids: list[str]
) -> dict[tuple[str, str], dict[str | None, int]]:
    """{(run_id, task_id): {state: count}} of the mapped instances in those runs."""
    out: dict[tuple[str, str], dict[str | None, int]] = {}
    if not run_ids:
        return out
    rows = session.execute(
        select(TaskInstance.run_id, TaskInstance.task_id, TaskInstance.state, func.count())
        .where(
            TaskInstance.dag_id == dag_id,
            TaskInstance.run_id.in_(run_ids),
            TaskInstance.map_index >= 0,
        )
        .group_by(TaskInstance.run_id, TaskInstance.task_id, TaskInstance.state)
    ).all()
    for run_id, task_id, state, count in rows:
        out.setdefault((run_id, task_id), {})[state] = int(count)
    return out
