"""ExternalTaskMarker: clearing a marker also clears the dependent task of the other DAG."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.metastore.tables import DagRun, TaskInstance

MARKER = "ExternalTaskMarker"


def expand_external_markers(
    session: Session, dag_id: str, run_id: str, task_ids: list[str], *, max_depth: int = 10
) -> list[tuple[str, str, list[str]]]:
    """Return the (dag_id, run_id, task_ids) that clearing these tasks must clear as well.

    Follows ``ExternalTaskMarker`` tasks among ``task_ids`` to the task they name in the other
    DAG (the run with the marker's rendered ``logical_date``), then markers there, up to each
    marker's ``recursion_depth``. A marker that never ran has no rendered date and is skipped.
    The starting tasks are not in the answer.
    """
    found: dict[tuple[str, str], set[str]] = {}
    frontier = [(dag_id, run_id, list(task_ids), max_depth)]
    seen = {(dag_id, run_id, t) for t in task_ids}
    while frontier:
        d, r, tids, depth = frontier.pop()
        if depth <= 0:
            continue
        markers = session.execute(
            select(TaskInstance.rendered_fields).where(
                TaskInstance.dag_id == d,
                TaskInstance.run_id == r,
                TaskInstance.task_id.in_(tids),
                TaskInstance.operator == MARKER,
            )
        ).scalars()
        for fields in markers:
            target = _target(session, fields or {})
            if target is None:
                continue
            ext_dag, ext_run, ext_task = target
            if (ext_dag, ext_run, ext_task) in seen:
                continue
            seen.add((ext_dag, ext_run, ext_task))
            found.setdefault((ext_dag, ext_run), set()).add(ext_task)
            limit = min(depth - 1, int((fields or {}).get("recursion_depth") or depth) - 1)
            frontier.append((ext_dag, ext_run, [ext_task], limit))
    return [(d, r, sorted(t)) for (d, r), t in sorted(found.items())]


def _target(session: Session, fields: dict[str, object]) -> tuple[str, str, str] | None:
    ext_dag, ext_task, when = (
        fields.get("external_dag_id"),
        fields.get("external_task_id"),
        fields.get("logical_date"),
    )
    if not (isinstance(ext_dag, str) and isinstance(ext_task, str) and isinstance(when, str)):
        return None
    try:
        logical = datetime.fromisoformat(when)
    except ValueError:
        return None
    run_id = session.execute(
        select(DagRun.run_id).where(DagRun.dag_id == ext_dag, DagRun.logical_date == logical)
    ).scalar_one_or_none()
    return (ext_dag, run_id, ext_task) if run_id else None
