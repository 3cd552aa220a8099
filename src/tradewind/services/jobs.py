"""The components' jobs (scheduler, triggerer, DAG processor heartbeats), bound to the
environment: ``tradewind jobs check``, the single-scheduler guard and ``dags trigger`` ask here
whether a component is alive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tradewind.services.env import Env

if TYPE_CHECKING:
    from tradewind.metastore.tables import Job
    from tradewind.services.queries import Page


@dataclass(frozen=True)
class AliveJob:
    """A running component with a recent heartbeat."""

    id: int
    hostname: str | None
    pid: int | None


@dataclass(frozen=True)
class Heartbeats:
    """Whether the metastore answers, and the newest heartbeat of each running job type."""

    database_ok: bool
    latest: dict[str, datetime | None]


class JobService:
    """Which components are alive; each call is one read-only transaction."""

    def __init__(self, env: Env):
        self.env = env

    @property
    def health_threshold(self) -> float:
        """Seconds without a heartbeat after which a scheduler counts as dead."""
        return float(self.env.settings.get("scheduler", "scheduler_health_check_threshold"))

    def alive(self, job_type: str, *, hostname: str | None = None) -> list[AliveJob]:
        """Jobs of ``job_type`` with a heartbeat within the health threshold, newest first
        (a job on this host whose process is gone does not count)."""
        from tradewind.services.queries.system import live_jobs

        threshold = self.health_threshold
        with self.env.db.session(readonly=True) as s:
            jobs = live_jobs(s, job_type, self.env.now(), threshold, hostname=hostname)
            return [AliveJob(j.id, j.hostname, j.pid) for j in jobs]

    def heartbeats(self, job_types: tuple[str, ...]) -> Heartbeats:
        """The newest heartbeat of a running job of each of ``job_types`` (None: none runs);
        an unreachable metastore is reported, not raised (``database_ok`` False)."""
        from tradewind.services.queries.audit import database_ok, latest_heartbeat

        try:
            with self.env.db.session(readonly=True) as s:
                ok = database_ok(s)
                return Heartbeats(ok, {kind: latest_heartbeat(s, kind) for kind in job_types})
        except Exception:  # noqa: BLE001 - an unreachable metastore is what this reports
            return Heartbeats(False, dict.fromkeys(job_types))

    def page(self, where: list[Any], paging: Any) -> Page[Job]:
        """One page (``queries.Paging``) of the jobs matching ``where``."""
        from tradewind.services.queries.system import list_jobs

        with self.env.db.session(readonly=True) as s:
            return list_jobs(s, where, paging)
