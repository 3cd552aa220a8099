"""Audited edits the REST API offers beyond the other services: notes, deleting a run or a
task instance, hand-written XCom entries, and asset events created by hand."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tradewind.errors import AlreadyExists, NotFound
from tradewind.metastore.tables import (
    AssetEvent,
    AssetModel,
    DagRun,
    TaskInstance,
    TaskInstanceHistory,
    XCom,
)
from tradewind.services.assets import record_asset_events
from tradewind.services.event_log import log_event
from tradewind.services.runs import get_run
from tradewind.services.task_instances import get_task_instance
from tradewind.services.xcom import set_xcom


def set_run_note(
    session: Session, dag_id: str, run_id: str, note: str | None, *, now: datetime, user: str | None
) -> DagRun:
    """Set (or with None remove) the note of a DAG run."""
    run = get_run(session, dag_id, run_id)
    run.note = note
    log_event(session, "set_note", now=now, owner=user, dag_id=dag_id, run_id=run_id)
    return run


def set_ti_note(
    session: Session,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int,
    note: str | None,
    *,
    now: datetime,
    user: str | None,
) -> TaskInstance:
    """Set (or with None remove) the note of a task instance."""
    ti = get_task_instance(session, dag_id, run_id, task_id, map_index)
    ti.note = note
    ti.updated_at = now
    log_event(
        session, "set_note", now=now, owner=user, dag_id=dag_id, run_id=run_id, task_id=task_id
    )
    return ti


def delete_run(
    session: Session, dag_id: str, run_id: str, *, now: datetime, user: str | None
) -> None:
    """Delete a DAG run with its task instances, their tries and XComs."""
    get_run(session, dag_id, run_id)
    for table in (XCom, TaskInstanceHistory, TaskInstance):
        session.execute(delete(table).where(table.dag_id == dag_id, table.run_id == run_id))
    session.execute(delete(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    log_event(session, "delete_dag_run", now=now, owner=user, dag_id=dag_id, run_id=run_id)


def delete_task_instance(
    session: Session,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int,
    *,
    now: datetime,
    user: str | None,
) -> None:
    """Delete one task instance (and its tries and XComs)."""
    ti = get_task_instance(session, dag_id, run_id, task_id, map_index)
    for table in (XCom, TaskInstanceHistory):
        session.execute(
            delete(table).where(
                table.dag_id == dag_id,
                table.run_id == run_id,
                table.task_id == task_id,
                table.map_index == map_index,
            )
        )
    session.delete(ti)
    log_event(
        session,
        "delete_task_instance",
        now=now,
        owner=user,
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
    )


def write_xcom(
    session: Session,
    dag_id: str,
    run_id: str,
    task_id: str,
    key: str,
    value: Any,
    map_index: int,
    *,
    create: bool,
    now: datetime,
    user: str | None,
    max_size: int = 0,
) -> None:
    """Create (AlreadyExists if present) or update (NotFound if absent) an XCom entry by hand."""
    get_task_instance(session, dag_id, run_id, task_id, map_index)
    found = session.get(XCom, (dag_id, run_id, task_id, map_index, key)) is not None
    if create and found:
        raise AlreadyExists(
            f"The XCom with key: `{key}` with mentioned task instance already exists."
        )
    if not create and not found:
        raise NotFound(f"The XCom with key: `{key}` with mentioned task instance doesn't exist.")
    set_xcom(
        session,
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        map_index=map_index,
        key=key,
        value=value,
        now=now,
        max_size=max_size,
    )
    log_event(
        session,
        "xcom_set",
        now=now,
        owner=user,
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        extra={"key": key},
    )


def delete_xcom(
    session: Session,
    dag_id: str,
    run_id: str,
    task_id: str,
    key: str,
    map_index: int,
    *,
    now: datetime,
    user: str | None,
) -> None:
    """Delete one XCom entry (NotFound if absent)."""
    row = session.get(XCom, (dag_id, run_id, task_id, map_index, key))
    if row is None:
        raise NotFound(f"The XCom with key: `{key}` with mentioned task instance doesn't exist.")
    session.delete(row)
    log_event(
        session,
        "xcom_delete",
        now=now,
        owner=user,
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        extra={"key": key},
    )


def create_asset_event(
    session: Session,
    asset_id: int,
    extra: dict[str, Any],
    *,
    now: datetime,
    user: str | None,
) -> AssetEvent:
    """Record an update of an asset made by hand and queue the DAGs scheduled on it.

    The event is recorded as a task's outlet would record it (so the consuming DAGs run),
    then marked as coming from the REST API: no source task, ``from_rest_api`` in ``extra``.

    Raises:
        NotFound: no asset has this id.
    """
    asset = session.get(AssetModel, asset_id)
    if asset is None:
        raise NotFound(f"Asset with ID: `{asset_id}` was not found")
    record_asset_events(session, uris=[asset.uri], dag_id="", task_id="", run_id="", now=now)
    session.flush()
    newest = select(func.max(AssetEvent.id)).where(AssetEvent.asset_id == asset_id)
    event = session.get(AssetEvent, session.scalar(newest))
    assert event is not None  # just recorded above
    event.source_dag_id = event.source_task_id = event.source_run_id = None
    event.extra = {**extra, "from_rest_api": True}
    log_event(session, "asset_event_create", now=now, owner=user, extra={"uri": asset.uri})
    return event
