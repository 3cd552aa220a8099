"""Deadline alerts on the metastore: a row per run and alert when the run is created; the
scheduler's sweep marks the missed ones (compare-and-set, so one scheduler alerts once,
whatever restarts or second schedulers) and hands their callbacks to a worker.

A run that ended by its deadline has met it: its row is removed when the time comes. A row
is marked missed in the same transaction as its event-log entry, and the callback is sent
right after that commits: a scheduler killed between the two would lose that one callback
(never send it twice), a window of microseconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.orm import Session

from tradewind.core import metrics
from tradewind.core.execution import Workload
from tradewind.core.states import DagRunState
from tradewind.metastore.tables import DagRun, Deadline
from tradewind.sdk.deadline import deadline_time
from tradewind.sdk.serialization import SerializedDag
from tradewind.services.event_log import log_event

log = logging.getLogger("tradewind.deadlines")
_ENDED = (DagRunState.SUCCESS.value, DagRunState.FAILED.value)


def record_deadlines(session: Session, sdag: SerializedDag, run: Any, now: datetime) -> int:
    """Store the deadlines of a new run (none unless the DAG declares ``deadline=``)."""
    alerts = sdag.data.get("deadline")
    if not alerts:
        return 0
    added = 0
    for i, alert in enumerate(alerts):
        when = deadline_time(alert, run)
        if when is None:
            continue  # e.g. DAGRUN_LOGICAL_DATE of a run without one
        session.add(
            Deadline(
                dag_id=run.dag_id,
                run_id=run.run_id,
                alert_index=i,
                reference=alert["reference"],
                interval=float(alert["interval"]),
                callback=alert.get("callback", ""),
                deadline_time=when,
                missed=False,
                created_at=now,
            )
        )
        added += 1
    return added


@dataclass(frozen=True)
class MissedDeadline:
    """A deadline this scheduler just marked missed: its callback is to be sent."""

    dag_id: str
    run_id: str
    alert_index: int
    deadline_time: datetime
    dag_version: str | None


def find_missed(session: Session, now: datetime, limit: int = 500) -> list[MissedDeadline]:
    """Mark the deadlines that passed with their run unfinished; return those this call won."""
    rows = session.execute(
        select(
            Deadline.id,
            Deadline.dag_id,
            Deadline.run_id,
            Deadline.alert_index,
            Deadline.deadline_time,
            DagRun.state,
            DagRun.end_date,
            DagRun.dag_version,
        )
        .join(DagRun, and_(DagRun.dag_id == Deadline.dag_id, DagRun.run_id == Deadline.run_id))
        .where(Deadline.missed.is_(False), Deadline.deadline_time <= now)
        .order_by(Deadline.deadline_time)
        .limit(limit)
    ).all()
    won: list[MissedDeadline] = []
    for r in rows:
        if r.state in _ENDED and r.end_date is not None and r.end_date <= r.deadline_time:
            session.execute(delete(Deadline).where(Deadline.id == r.id, Deadline.missed.is_(False)))
            continue
        moved = session.execute(  # type: ignore[attr-defined]
            update(Deadline)
            .where(Deadline.id == r.id, Deadline.missed.is_(False))
            .values(missed=True, missed_at=now)
        ).rowcount
        if not moved:
            continue  # another scheduler won it
        log_event(
            session,
            "deadline_missed",
            now=now,
            owner="scheduler",
            dag_id=r.dag_id,
            run_id=r.run_id,
            extra={"deadline_time": r.deadline_time.isoformat(), "alert": r.alert_index},
        )
        metrics.incr(
            "dagrun.deadline_missed", tags={"dag_id": r.dag_id, "deadline": str(r.alert_index)}
        )
        log.warning("DAG run %s of %s missed its deadline %s", r.run_id, r.dag_id, r.deadline_time)
        won.append(
            MissedDeadline(r.dag_id, r.run_id, r.alert_index, r.deadline_time, r.dag_version)
        )
    return won


def callback_workload(m: MissedDeadline, sdag: SerializedDag) -> Workload:
    """The worker's order to run a missed deadline's callback (it imports the DAG file)."""
    return Workload(
        ti_id=-abs(hash((m.dag_id, m.run_id, "deadline", m.alert_index))) % (10**9) - 1,
        dag_id=m.dag_id,
        run_id=m.run_id,
        task_id="",
        map_index=-1,
        try_number=0,
        fileloc=sdag.fileloc,
        dag_version=m.dag_version,
        token="",
        kind="callback",
        callback={
            "type": "deadline",
            "dag_id": m.dag_id,
            "run_id": m.run_id,
            "alert_index": m.alert_index,
            "deadline_time": m.deadline_time.isoformat(),
            "reason": "deadline_missed",
        },
    )


def missed_deadlines(session: Session, dag_id: str, limit: int = 20) -> list[Deadline]:
    """The newest missed deadlines of a DAG (for its page)."""
    return list(
        session.execute(
            select(Deadline)
            .where(Deadline.dag_id == dag_id, Deadline.missed.is_(True))
            .order_by(Deadline.missed_at.desc())
            .limit(limit)
        ).scalars()
    )


def missed_callbacks(session: Session, now: datetime, dags: Any) -> list[Workload]:
    """Mark what was missed (see :func:`find_missed`); return the callbacks to send once the
    session commits."""
    return [
        callback_workload(m, dags.get(session, m.dag_id, m.dag_version))
        for m in find_missed(session, now)
    ]
