"""Why a task instance is not scheduled yet: Airflow's "task dependencies" (dep name and
reason), checked for task instances with no state or ``scheduled``, as Airflow does."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.core.trigger_rules import Decision, UpstreamStates, evaluate
from tradewind.errors import NotFound
from tradewind.metastore.tables import DagModel, DagRun, TaskInstance
from tradewind.services import pools as pool_service
from tradewind.services.dag_store import get_serialized_dag

_WAITING = (None, "scheduled")


def failed_dependencies(session: Session, ti: TaskInstance, run: DagRun) -> list[dict[str, str]]:
    """The unmet conditions of ``ti`` as ``{"name", "reason"}``, sorted by name."""
    if ti.state not in _WAITING:
        return []
    found: list[dict[str, str]] = []
    paused = session.scalar(select(DagModel.is_paused).where(DagModel.dag_id == ti.dag_id))
    if paused:
        found.append(_dep("Dag Not Paused", f"Task's DAG '{ti.dag_id}' is paused."))
    if run.state != "running":
        found.append(
            _dep(
                "Dagrun Running",
                "Task instance's dagrun was not in the 'running' state but in the state "
                f"'{run.state}'.",
            )
        )
    task = _task(session, ti)
    if task is not None:
        rule = _trigger_rule(session, ti, task)
        if rule is not None:
            found.append(rule)
    pool = _pool(session, ti)
    if pool is not None:
        found.append(pool)
    return sorted(found, key=lambda d: d["name"])


def _dep(name: str, reason: str) -> dict[str, str]:
    return {"name": name, "reason": reason}


def _task(session: Session, ti: TaskInstance) -> dict[str, Any] | None:
    try:
        dag = get_serialized_dag(session, ti.dag_id, ti.dag_version)
    except NotFound:
        return None
    task = dag.tasks.get(ti.task_id)
    return None if task is None else task.data


def _trigger_rule(
    session: Session, ti: TaskInstance, task: dict[str, Any]
) -> dict[str, Any] | None:
    upstream = list(task.get("upstream") or [])
    if not upstream:
        return None
    states = session.scalars(
        select(TaskInstance.state).where(
            TaskInstance.dag_id == ti.dag_id,
            TaskInstance.run_id == ti.run_id,
            TaskInstance.task_id.in_(upstream),
        )
    ).all()
    up = UpstreamStates.from_states(list(states))
    rule = str(task.get("trigger_rule") or "all_success")
    if evaluate(rule, up) is Decision.RUN:
        return None
    return _dep(
        "Trigger Rule",
        f"Task's trigger rule '{rule}' is not met by its upstream tasks: "
        f"upstream_states=(success={up.success}, skipped={up.skipped}, failed={up.failed}, "
        f"upstream_failed={up.upstream_failed}, removed={up.removed}, done={up.done}, "
        f"total={up.total}), upstream_task_ids={set(sorted(upstream))}",
    )


def _pool(session: Session, ti: TaskInstance) -> dict[str, str] | None:
    try:
        info = pool_service.get_pool(session, ti.pool)
    except NotFound:
        return _dep(
            "Pool Slots Available",
            f"Tasks using non-existent pool '{ti.pool}' will not be scheduled",
        )
    if info.slots != -1 and info.open_slots < ti.pool_slots:
        return _dep(
            "Pool Slots Available",
            f"Not scheduling since there are {info.open_slots} open slots in pool {ti.pool} "
            f"and require {ti.pool_slots} pool slots",
        )
    return None
