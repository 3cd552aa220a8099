"""Small queries the Celery executor and the HTTP execution API need from the metastore."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ARRAY, BigInteger, any_, bindparam, select
from sqlalchemy.orm import Session

from tradewind.core.states import TaskInstanceState as TI
from tradewind.errors import NotFound
from tradewind.metastore.tables import TaskInstance

_ACTIVE = (TI.QUEUED.value, TI.RUNNING.value, TI.RESTARTING.value)
_TIc = TaskInstance.__table__.c
# Asked many times a second with up to ``parallelism`` ids. On PostgreSQL the ids travel as
# one array parameter, so the SQL text never changes (the driver caches its parsing).
_STILL_ACTIVE = select(_TIc.id, _TIc.try_number).where(
    _TIc.id.in_(bindparam("ids", expanding=True)), _TIc.state.in_(_ACTIVE)
)
_STILL_ACTIVE_PG = select(_TIc.id, _TIc.try_number).where(
    _TIc.id == any_(bindparam("ids", type_=ARRAY(BigInteger))), _TIc.state.in_(_ACTIVE)
)


def still_active(session: Session, keys: list[tuple[int, int]]) -> set[int]:
    """Return the ids among ``(ti_id, try_number)`` whose try is still queued or running."""
    if not keys:
        return set()
    wanted = dict(keys)
    pg = session.get_bind().dialect.name == "postgresql"
    rows = session.execute(_STILL_ACTIVE_PG if pg else _STILL_ACTIVE, {"ids": list(wanted)}).all()
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
