"""What the components report to ``core.metrics``: one function per event, called in one
line from the place the event happens (a run ends, a try starts or finishes, the scheduler
beats, a DAG-folder pass ends). Each returns at once when metrics are off.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tradewind.core import metrics
from tradewind.core.states import TaskInstanceState as TI
from tradewind.metastore.tables import DagModel, ImportError_, TaskInstance
from tradewind.observability import tracing


def runs_ended(ended: Iterable[Any], now: datetime) -> None:
    """``dagrun.duration.success|failed`` and the run's span, for runs that ended."""
    if tracing.ON:
        for e in ended:
            tracing.run_ended(e.run.dag_id, e.run.run_id, e.state.value, e.run.start_date, now)
    if not metrics.enabled():
        return
    for e in ended:
        start = e.run.start_date
        if start is not None:
            metrics.timing(
                f"dagrun.duration.{e.state.value}",
                (now - start).total_seconds(),
                {"dag_id": e.run.dag_id},
            )


def run_started(run: Any, now: datetime) -> None:
    """``dagrun.schedule_delay``: a scheduled run started this long after it was due."""
    if not metrics.enabled() or run.run_type != "scheduled":
        return
    due = run.data_interval_end or run.run_after
    if due is not None:
        metrics.timing("dagrun.schedule_delay", (now - due).total_seconds(), {"dag_id": run.dag_id})


def try_started(dag_id: str, task_id: str) -> None:
    """``ti.start``: a worker claimed a try."""
    if metrics.enabled():
        metrics.incr("ti.start", tags={"dag_id": dag_id, "task_id": task_id})


def try_finished(
    ti: Any, state: str | None, duration: float | None, lost: bool, now: datetime
) -> None:
    """``ti.finish``, ``ti_successes`` / ``ti_failures``, ``zombies_killed``, ``task.duration``,
    and the try's span."""
    if tracing.ON:
        tracing.try_ended(ti, state, now)
    if not metrics.enabled():
        return
    tags = {"dag_id": ti.dag_id, "task_id": ti.task_id}
    metrics.incr("ti.finish", tags={**tags, "state": state or "none"})
    if state == TI.SUCCESS.value:
        metrics.incr("ti_successes", tags=tags)
    elif state in (TI.FAILED.value, TI.UP_FOR_RETRY.value):
        metrics.incr("ti_failures", tags=tags)
    if lost:
        metrics.incr("zombies_killed", tags=tags)
    if duration is not None:
        metrics.timing("task.duration", duration, tags)


_TI_COUNTS = (
    select(TaskInstance.state, func.count())
    .where(TaskInstance.state.in_([TI.QUEUED.value, TI.RUNNING.value]))
    .group_by(TaskInstance.state)
)


def scheduler_beat(session: Session, open_slots: int) -> None:
    """On each scheduler heartbeat: ``scheduler_heartbeat``, executor and pool gauges."""
    if not metrics.enabled():
        return
    from tradewind.services.pools import list_pools

    metrics.incr("scheduler_heartbeat")
    counts = dict(session.execute(_TI_COUNTS).all())
    metrics.gauge("executor.open_slots", open_slots)
    metrics.gauge("executor.queued_tasks", counts.get(TI.QUEUED.value, 0))
    metrics.gauge("executor.running_tasks", counts.get(TI.RUNNING.value, 0))
    for p in list_pools(session):
        tags = {"pool_name": p.name}
        open_slots_ = p.open_slots
        metrics.gauge("pool.open_slots", open_slots_, tags)
        metrics.gauge("pool.queued_slots", p.queued, tags)
        metrics.gauge("pool.running_slots", p.running, tags)
        metrics.gauge("pool.scheduled_slots", p.scheduled, tags)
        starving = max(p.scheduled - max(open_slots_, 0), 0) if open_slots_ >= 0 else 0
        metrics.gauge("pool.starving_tasks", starving, tags)


def parse_pass(session: Session, parsed: Iterable[Any], total_seconds: float) -> None:
    """After a pass over the DAGs folder: parse times, ``dagbag_size``, import errors."""
    if not metrics.enabled():
        return
    for r in parsed:
        name = os.path.splitext(os.path.basename(r.path))[0]
        metrics.timing("dag_processing.last_duration", r.duration, {"file": name})
    metrics.gauge("dag_processing.total_parse_time", total_seconds)
    active = session.execute(
        select(func.count()).select_from(DagModel).where(DagModel.is_active.is_(True))
    ).scalar_one()
    errors = session.execute(select(func.count()).select_from(ImportError_)).scalar_one()
    metrics.gauge("dagbag_size", active)
    metrics.gauge("dag_processing.import_errors", errors)


def triggerer_beat(running: int, fired: int, failed: int) -> None:
    """Each triggerer sync: ``triggerer_heartbeat``, ``triggers.running`` and outcomes."""
    if not metrics.enabled():
        return
    metrics.incr("triggerer_heartbeat")
    metrics.gauge("triggers.running", running)
    if fired:
        metrics.incr("triggers.succeeded", fired)
    if failed:
        metrics.incr("triggers.failed", failed)
