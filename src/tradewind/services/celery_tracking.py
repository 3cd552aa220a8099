"""Small queries the Celery executor and the HTTP execution API need from the metastore."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, select
from sqlalchemy.orm import Session

from tradewind.core.states import TaskInstanceState as TI
from tradewind.errors import NotFound
from tradewind.metastore.tables import TaskInstance
from tradewind.services.scheduling import ListStatement

_ACTIVE = (TI.QUEUED.value, TI.RUNNING.value, TI.RESTARTING.value)
_TIc = TaskInstance.__table__.c
# Asked many times a second with up to ``parallelism`` ids.
_STILL_ACTIVE = ListStatement(
    lambda in_list: select(_TIc.id, _TIc.try_number).where(
        in_list(_TIc.id), _TIc.state.in_(_ACTIVE)
    ),
    "ids",
    BigInteger,
)


def still_active(session: Session, keys: list[tuple[int, int]]) -> set[int]:
    """Return the ids among ``(ti_id, try_number)`` whose try is still queued or running."""
    if not keys:
        return set()
    wanted = dict(keys)
    rows = session.execute(_STILL_ACTIVE.on(session), {"ids": list(wanted)}).all()
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
