"""The triggerer's use cases: claim trigger rows, resume or fail the deferred task instances.

Several triggerers share the work through ``trigger.triggerer_id``; a triggerer whose job
heartbeat stopped loses its triggers to the others. On PostgreSQL the claim uses
``FOR UPDATE SKIP LOCKED`` so two triggerers never take the same row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from tradewind.core.states import TaskInstanceState as TI
from tradewind.metastore.tables import Job, TaskInstance, Trigger
from tradewind.services.ti_state import cas, ti_update, touch_runs

JOB_TYPE = "TriggererJob"


def _alive_triggerers(session: Session, now: datetime, dead_after: float) -> Any:
    return select(Job.id).where(
        Job.job_type == JOB_TYPE,
        Job.state == "running",
        Job.latest_heartbeat >= now - timedelta(seconds=dead_after),
    )


def claim_triggers(
    session: Session, triggerer_id: int, capacity: int, now: datetime, *, dead_after: float = 30.0
) -> list[dict[str, Any]]:
    """Take up to ``capacity`` more triggers (unassigned, or held by a dead triggerer)."""
    held = session.execute(
        select(func.count()).select_from(Trigger).where(Trigger.triggerer_id == triggerer_id)
    ).scalar_one()
    room = capacity - held
    if room <= 0:
        return []
    q = (
        select(Trigger)
        .where(
            or_(
                Trigger.triggerer_id.is_(None),
                Trigger.triggerer_id.not_in(_alive_triggerers(session, now, dead_after)),
            )
        )
        .order_by(Trigger.id)
        .limit(room)
    )
    if session.get_bind().dialect.name in ("postgresql", "mysql"):
        q = q.with_for_update(skip_locked=True)
    rows = session.execute(q).scalars().all()
    for row in rows:
        row.triggerer_id = triggerer_id
    return [{"id": r.id, "classpath": r.classpath, "kwargs": r.kwargs or {}} for r in rows]


def assigned_trigger_ids(session: Session, triggerer_id: int) -> set[int]:
    """The trigger ids this triggerer still owns (others were fired, cleared or taken)."""
    return set(
        session.execute(select(Trigger.id).where(Trigger.triggerer_id == triggerer_id)).scalars()
    )


def delete_unused_triggers(session: Session) -> int:
    """Delete triggers no deferred task instance waits on (cleared or marked meanwhile)."""
    used = select(TaskInstance.trigger_id).where(
        TaskInstance.state == TI.DEFERRED.value, TaskInstance.trigger_id.is_not(None)
    )
    return session.execute(  # type: ignore[attr-defined, no-any-return]
        delete(Trigger).where(Trigger.id.not_in(used)).execution_options(synchronize_session=False)
    ).rowcount


def _deferred_tis(session: Session, trigger_ids: list[int]) -> list[TaskInstance]:
    return list(
        session.execute(
            select(TaskInstance).where(
                TaskInstance.trigger_id.in_(trigger_ids), TaskInstance.state == TI.DEFERRED.value
            )
        ).scalars()
    )


def fire_triggers(session: Session, events: dict[int, Any], now: datetime) -> int:
    """deferred -> scheduled for the task instances of fired triggers (try number kept).

    The event's payload is stored in ``next_kwargs["event"]``, handed to the resumed
    method. One executemany per 500 triggers, so a thousand events cost one round trip
    each, not a thousand. Returns how many task instances moved.
    """
    table = cast(Table, TaskInstance.__table__)
    stmt = ti_update(
        TI.DEFERRED,
        TI.SCHEDULED,
        table.c.id == bindparam("ti_id"),
        trigger_id=None,
        trigger_timeout=None,
        next_kwargs=bindparam("kw"),
        scheduled_dttm=now,
        updated_at=now,
    )
    moved = 0
    runs: set[tuple[str, str]] = set()
    ids = list(events)
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        rows = session.execute(
            select(
                TaskInstance.id,
                TaskInstance.dag_id,
                TaskInstance.run_id,
                TaskInstance.trigger_id,
                TaskInstance.next_kwargs,
            ).where(TaskInstance.trigger_id.in_(chunk), TaskInstance.state == TI.DEFERRED.value)
        ).all()
        params = [
            {"ti_id": r.id, "kw": {**(r.next_kwargs or {}), "event": events[r.trigger_id]}}
            for r in rows
        ]
        if params:
            moved += session.connection().execute(stmt, params).rowcount
            runs.update((r.dag_id, r.run_id) for r in rows)
        session.execute(
            delete(Trigger)
            .where(Trigger.id.in_(chunk))
            .execution_options(synchronize_session=False)
        )
    touch_runs(session, runs)  # once per run, not once per task instance
    return moved


def _fail(session: Session, tis: list[TaskInstance], now: datetime, error: str) -> int:
    from tradewind.services.try_end import record_history

    failed = 0
    for ti in tis:
        ti.end_date = now
        record_history(session, ti, TI.FAILED.value, error)
        failed += cas(
            session,
            ti.id,
            TI.DEFERRED,
            TI.FAILED,
            now=now,
            run_key=(ti.dag_id, ti.run_id),
            trigger_id=None,
            end_date=now,
        )
    return failed


def fail_triggers(session: Session, errors: dict[int, str], now: datetime) -> int:
    """deferred -> failed for task instances whose trigger raised; the triggers are deleted."""
    ids = list(errors)
    failed = 0
    for ti in _deferred_tis(session, ids):
        failed += _fail(session, [ti], now, f"the trigger failed: {errors[ti.trigger_id]}")  # type: ignore[index]
    session.execute(
        delete(Trigger).where(Trigger.id.in_(ids)).execution_options(synchronize_session=False)
    )
    return failed


def fail_timed_out(session: Session, now: datetime) -> int:
    """deferred -> failed where ``trigger_timeout`` passed (the deferral's own timeout)."""
    tis = list(
        session.execute(
            select(TaskInstance)
            .where(TaskInstance.state == TI.DEFERRED.value, TaskInstance.trigger_timeout <= now)
            .limit(1000)
        ).scalars()
    )
    return _fail(session, tis, now, "the deferred task timed out waiting for its trigger")


def release_triggers(session: Session, triggerer_id: int) -> None:
    """Give this triggerer's triggers back (clean shutdown) so another takes them at once."""
    session.execute(
        update(Trigger).where(Trigger.triggerer_id == triggerer_id).values(triggerer_id=None)
    )


def next_trigger_timeout(session: Session) -> datetime | None:
    """When the next deferral times out."""
    return session.execute(
        select(func.min(TaskInstance.trigger_timeout)).where(
            TaskInstance.state == TI.DEFERRED.value
        )
    ).scalar_one_or_none()
