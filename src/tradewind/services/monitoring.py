"""What the UI shows about health and speed: the components' last heartbeats, run durations
over time, each task's scheduling latency, and missed deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.metastore.tables import DagRun
from tradewind.services.env import Env
from tradewind.services.queries.audit import latest_heartbeat

COMPONENTS = (
    ("Scheduler", "SchedulerJob"),
    ("Triggerer", "TriggererJob"),
    ("DAG processor", "DagProcessorJob"),
)


@dataclass(frozen=True)
class ComponentHealth:
    """One component: healthy, unhealthy (heartbeat too old) or not running."""

    name: str
    status: str
    last_heartbeat: datetime | None
    seconds_ago: float | None


def component_health(session: Session, now: datetime, threshold: float) -> list[ComponentHealth]:
    """Health of the scheduler, triggerer and DAG processor from their job heartbeats."""
    out = []
    for name, job_type in COMPONENTS:
        beat = latest_heartbeat(session, job_type)
        if beat is None:
            out.append(ComponentHealth(name, "not running", None, None))
            continue
        ago = (now - beat).total_seconds()
        out.append(ComponentHealth(name, "healthy" if ago <= threshold else "unhealthy", beat, ago))
    return out


@dataclass(frozen=True)
class RunDuration:
    run_id: str
    state: str
    start_date: datetime
    seconds: float


def run_durations(session: Session, dag_id: str, limit: int = 50) -> list[RunDuration]:
    """The newest finished runs of a DAG with their durations, oldest first."""
    rows = session.execute(
        select(DagRun.run_id, DagRun.state, DagRun.start_date, DagRun.end_date)
        .where(
            DagRun.dag_id == dag_id,
            DagRun.start_date.is_not(None),
            DagRun.end_date.is_not(None),
            DagRun.state.in_(["success", "failed"]),
        )
        .order_by(DagRun.id.desc())
        .limit(limit)
    ).all()
    return [
        RunDuration(r, s, start, max((end - start).total_seconds(), 0.0))  # type: ignore[arg-type, operator]
        for r, s, start, end in reversed(rows)
    ]


def latest_run_id(session: Session, dag_id: str) -> str | None:
    """The newest run of a DAG that has started."""
    return session.execute(
        select(DagRun.run_id)
        .where(DagRun.dag_id == dag_id, DagRun.start_date.is_not(None))
        .order_by(DagRun.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def failed_since(now: datetime, hours: float = 24) -> datetime:
    """The start of the "failed in the last 24 h" window."""
    return now - timedelta(hours=hours)


def chart_points(
    values: list[Any], width: int, height: int, value: Any = lambda v: v.seconds
) -> tuple[list[tuple[float, float, Any]], float]:
    """SVG points (x, y, item) for ``values`` left to right, and the largest value."""
    top = max((value(v) for v in values), default=0.0) or 1.0
    step = width / max(len(values) - 1, 1)
    return [
        (50 + i * step, 10 + height - height * value(v) / top, v) for i, v in enumerate(values)
    ], top


@dataclass(frozen=True)
class DagMonitor:
    """What a DAG's Monitor tab shows: run durations, one run's task latencies, deadlines."""

    durations: list[RunDuration]
    run_id: str
    latency: dict[str, Any]
    deadlines: list[Any]


class MonitorService:
    """Health and speed as the UI shows them, bound to the environment; one read each."""

    def __init__(self, env: Env):
        self.env = env

    def health(self) -> list[ComponentHealth]:
        """The scheduler's, triggerer's and DAG processor's last heartbeats."""
        threshold = float(self.env.settings.get("scheduler", "scheduler_health_check_threshold"))
        with self.env.db.session(readonly=True) as session:
            return component_health(session, self.env.now(), threshold)

    def dag(self, dag_id: str, sdag: Any, run_id: str = "") -> DagMonitor:
        """A DAG's run durations, the scheduling latency of the tasks of ``run_id`` (default:
        the latest run) and its missed deadlines."""
        from tradewind.services.deadlines import missed_deadlines
        from tradewind.services.latency import task_latencies

        with self.env.db.session(readonly=True) as session:
            durations = run_durations(session, dag_id)
            run_id = run_id or latest_run_id(session, dag_id) or ""
            latency = task_latencies(session, sdag, dag_id, run_id) if run_id else {}
            return DagMonitor(durations, run_id, latency, missed_deadlines(session, dag_id))
