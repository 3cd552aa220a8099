"""The components' jobs (scheduler, triggerer, DAG processor heartbeats), bound to the
environment: ``tradewind jobs check``, the single-scheduler guard and ``dags trigger`` ask here
whether a component is alive."""

from __future__ import annotations

from dataclasses import dataclass

from tradewind.services.env import Env


@dataclass(frozen=True)
class AliveJob:
    """A running component with a recent heartbeat."""

    id: int
    hostname: str | None
    pid: int | None


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
