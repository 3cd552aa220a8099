"""Scheduling latency of each task instance: how long it waited after it could run.

Three stages, from three times the metastore already keeps: *ready* (the last upstream task
instance ended; for a first task the run started; for a retry it was scheduled again),
*queued* (``queued_dttm``) and *started* (``start_date``). They are read after the fact, so
nothing is added to the hot path: the scheduler remembers the task instances it queued and,
on each heartbeat, reads those that started since (one query by primary key) and records
``ti.scheduling_latency`` per stage. The DAG page shows the same figures per task.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from tradewind.core import metrics
from tradewind.metastore.tables import DagRun, TaskInstance
from tradewind.sdk.serialization import SerializedDag

STAGES = ("upstream_to_queued", "queued_to_started", "upstream_to_started")


def stages(
    ready: datetime | None, queued: datetime | None, started: datetime | None
) -> dict[str, float]:
    """Seconds of each stage that the times allow (never negative)."""
    out: dict[str, float] = {}
    if ready is not None and queued is not None:
        out["upstream_to_queued"] = max((queued - ready).total_seconds(), 0.0)
    if queued is not None and started is not None:
        out["queued_to_started"] = max((started - queued).total_seconds(), 0.0)
    if ready is not None and started is not None:
        out["upstream_to_started"] = max((started - ready).total_seconds(), 0.0)
    return out


def ready_time(
    ti: Any, sdag: SerializedDag | None, ends: dict[str, datetime], run_start: datetime | None
) -> datetime | None:
    """When ``ti`` could first run: its upstream's last end, the run start, or its retry."""
    if ti.try_number and ti.try_number > 1:
        return ti.scheduled_dttm  # type: ignore[no-any-return]
    task = sdag.tasks.get(ti.task_id) if sdag is not None else None
    ups = [ends[u] for u in (task.upstream_task_ids if task else ()) if u in ends]
    if ups:
        return max(ups)
    return run_start if (task is not None and not task.upstream_task_ids) else ti.scheduled_dttm


def _upstream_ends(session: Session, dag_id: str, run_id: str) -> dict[str, datetime]:
    rows = session.execute(
        select(TaskInstance.task_id, func.max(TaskInstance.end_date))
        .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
        .group_by(TaskInstance.task_id)
    ).all()
    return {t: e for t, e in rows if e is not None}


def _run_start(session: Session, dag_id: str, run_id: str) -> datetime | None:
    return session.execute(
        select(DagRun.start_date).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
    ).scalar_one_or_none()


def task_latencies(
    session: Session, sdag: SerializedDag | None, dag_id: str, run_id: str
) -> dict[str, dict[str, float]]:
    """Per task of one run (the first map index that has figures): the stages in seconds."""
    ends = _upstream_ends(session, dag_id, run_id)
    start = _run_start(session, dag_id, run_id)
    tis = session.execute(
        select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
    ).scalars()
    out: dict[str, dict[str, float]] = {}
    for ti in tis:
        if ti.task_id in out:
            continue
        got = stages(ready_time(ti, sdag, ends, start), ti.queued_dttm, ti.start_date)
        if got:
            out[ti.task_id] = got
    return out


_STARTED = select(
    TaskInstance.id,
    TaskInstance.dag_id,
    TaskInstance.run_id,
    TaskInstance.task_id,
    TaskInstance.try_number,
    TaskInstance.dag_version,
    TaskInstance.scheduled_dttm,
    TaskInstance.queued_dttm,
    TaskInstance.start_date,
).where(TaskInstance.id.in_(bindparam("ids", expanding=True)), TaskInstance.start_date.is_not(None))


class LatencyTracker:
    """Remembers what this scheduler queued; records the latency once each has started."""

    def __init__(self, forget_after: float = 3600.0, most: int = 100_000):
        self.pending: dict[int, float] = {}
        self.forget_after = forget_after
        self.most = most

    def queued(self, ti_ids: Iterable[int]) -> None:
        """Note task instances just queued (nothing is kept when metrics are off)."""
        if metrics.enabled() and len(self.pending) < self.most:
            now = time.monotonic()
            for i in ti_ids:
                self.pending[i] = now

    def flush(self, session: Session, dags: Any) -> int:
        """Record the stages of the noted task instances that started; return how many."""
        if not self.pending:
            return 0
        ids = list(self.pending)
        started: list[Any] = []
        for i in range(0, len(ids), 500):
            started.extend(
                session.execute(_STARTED, {"ids": ids[i : i + 500]}).all()  # plain rows: cheap
            )
        by_run: dict[tuple[str, str], tuple[dict[str, datetime], datetime | None]] = {}
        for ti in started:
            key = (ti.dag_id, ti.run_id)
            if key not in by_run:
                by_run[key] = (_upstream_ends(session, *key), _run_start(session, *key))
            ends, run_start = by_run[key]
            sdag = dags.get(session, ti.dag_id, ti.dag_version) if dags is not None else None
            ready = ready_time(ti, sdag, ends, run_start)
            for stage, secs in stages(ready, ti.queued_dttm, ti.start_date).items():
                metrics.timing("ti.scheduling_latency", secs, {"dag_id": ti.dag_id, "stage": stage})
            self.pending.pop(ti.id, None)
        cutoff = time.monotonic() - self.forget_after
        for i in [i for i, t in self.pending.items() if t < cutoff]:
            del self.pending[i]
        return len(started)
