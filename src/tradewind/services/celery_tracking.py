"""Small queries the Celery executor and the HTTP execution API need from the metastore."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.core.states import TaskInstanceState as TI
from tradewind.errors import NotFound
from tradewind.metastore.tables import TaskInstance

_ACTIVE = (TI.QUEUED.value, TI.RUNNING.value, TI.RESTARTING.value)


def still_active(session: Session, keys: list[tuple[int, int]]) -> set[int]:
    """Return the ids among ``(ti_id, try_number)`` whose try is still queued or running."""
    if not keys:
        return set()
    wanted = dict(keys)
    rows = session.execute(
        select(TaskInstance.id, TaskInstance.try_number).where(
            TaskInstance.id.in_(list(wanted)), TaskInstance.state.in_(_ACTIVE)
        )
    ).all()
    return {ti_id for ti_id, try_number in rows if wanted.get(ti_id) == try_number}


@dataclass(frozen=True)
class TaskInstanceKey:
    """Where a task instance's logs go: its identity."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int


def task_instance_key(session: Session, ti_id: int) -> TaskInstanceKey:
    """Return the identity of task instance ``ti_id`` or raise NotFound."""
    row = session.execute(
        select(
            TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.task_id, TaskInstance.map_index
        ).where(TaskInstance.id == ti_id)
    ).first()
    if row is None:
        raise NotFound(f"task instance {ti_id} not found")
    return TaskInstanceKey(row.dag_id, row.run_id, row.task_id, row.map_index)
