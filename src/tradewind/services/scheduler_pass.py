"""The scheduler's transactions, bound to the environment: ``scheduler/loop.py`` does the
waiting and the executor I/O and calls these, one transaction each.

A pass (create and start runs, decide ready task instances, queue what fits) is one
transaction by design: a run started by the full pass is decided and queued before the commit,
so a trigger's first task starts one commit earlier (#17).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tradewind.core.execution import Workload
from tradewind.services import deadlines, lost_tries, queueing, run_creation, scheduling, telemetry
from tradewind.services.asset_scheduling import create_asset_triggered_runs
from tradewind.services.env import Env
from tradewind.services.latency import LatencyTracker


@dataclass
class PassResult:
    """What one pass decided: the workloads for the executor, the runs that ended, when the
    next full pass is due, and whether the workloads filled every free executor slot."""

    workloads: list[Workload]
    finished_runs: list[scheduling.RunOutcome]
    next_due: datetime
    slot_bound: bool


class SchedulerPass:
    """One scheduler's use cases on the metastore (its DAG cache and duration estimates live
    as long as it does)."""

    def __init__(
        self,
        env: Env,
        *,
        only_runs: set[tuple[str, str]] | None,
        executor_name: str,
        token_ttl: float,
    ):
        self.env = env
        self.only_runs = only_runs
        self.executor_name = executor_name
        self.token_ttl = token_ttl
        self.cache = scheduling.DagCache(int(env.settings.get("core", "max_map_length")))
        self.estimates = queueing.DurationEstimates()

    # -- the job --------------------------------------------------------------------------
    def start(self, now: datetime, *, exclusive: bool, dead_after: float) -> int | None:
        """Make sure the default pool exists and register the scheduler's job (none for a
        scheduler limited to some runs); return its id."""
        with self.env.db.session() as s:
            queueing.ensure_default_pool(s)
            if self.only_runs is not None:
                return None
            return queueing.register_job(
                s, "SchedulerJob", now, exclusive=exclusive, dead_after=dead_after
            )

    def end_job(self, job_id: int) -> None:
        """Mark the scheduler's job ended."""
        with self.env.db.session() as s:
            queueing.end_job(s, job_id, self.env.now())

    def heartbeat(self, job_id: int | None, alive: list[int] | None, now: datetime) -> list[int]:
        """Beat the job and, when the executor supervises them (``alive`` given), the tries
        it runs; return the task instances cleared while running (to be stopped)."""
        with self.env.db.session() as s:
            if job_id is not None:
                queueing.heartbeat_job(s, job_id, now)
            return queueing.heartbeat_alive(s, alive, now) if alive is not None else []

    def report_metrics(self, free_slots: int, latency: LatencyTracker) -> None:
        """Gauges of the scheduler and the latencies gathered since the last report."""
        with self.env.db.session(readonly=True) as s:
            telemetry.scheduler_beat(s, free_slots)
            latency.flush(s, self.cache)

    # -- lost tries ---------------------------------------------------------------------
    def dead_local_tries(self, now: datetime, alive: set[int]) -> list[tuple[int, int, int, str]]:
        """End the jobs of this host whose process is gone; return this host's tries whose
        process is gone (not in ``alive``) as ``(ti_id, try_number, seq, why)``."""
        with self.env.db.session() as s:
            lost_tries.end_dead_local_jobs(s, now)
            return lost_tries.dead_local_tries(s, alive)

    def requeue_stuck(
        self, now: datetime, queued_timeout: float, job_id: int | None, dead_after: float
    ) -> None:
        """Queue again what stayed queued too long or what a dead scheduler had queued."""
        with self.env.db.session() as s:
            queueing.requeue_stuck(s, now, queued_timeout, job_id, dead_after)

    def requeue_unclaimed(self, ti_id: int, try_number: int, seq: int | None) -> bool:
        """A try lost before its claim is scheduled again; whether it was."""
        with self.env.db.session() as s:
            return bool(lost_tries.requeue_unclaimed(s, ti_id, try_number, self.env.now(), seq))

    def sweep(
        self, now: datetime, heartbeat_timeout: float
    ) -> tuple[list[tuple[int, int]], list[Workload]]:
        """Running tries without a heartbeat for ``heartbeat_timeout``, and the callbacks of
        deadlines missed now (marked missed in this transaction: sent once)."""
        with self.env.db.session() as s:
            stale = queueing.find_stale_running(s, now, heartbeat_timeout)
            late = [] if self.only_runs else deadlines.missed_callbacks(s, now, self.cache)
            return stale, late

    def refresh_statistics(self) -> bool:
        """Re-analyze the tables that grew since SQLite's planner statistics were written (a
        no-op on PostgreSQL, whose autovacuum does it); whether it did."""
        return self.env.db.refresh_statistics_if_grown()

    # -- a pass -------------------------------------------------------------------------
    def run(
        self,
        now: datetime,
        *,
        full: bool,
        horizon: float,
        next_due: datetime,
        free_slots: int,
        job_id: int | None,
    ) -> PassResult:
        """One pass in one transaction: the full part when ``full`` or ``next_due`` passed
        (refresh DAGs, create due and asset-triggered runs, start queued runs, promote due
        retries), then decide the changed runs and queue up to ``free_slots`` task instances."""
        with self.env.db.session() as s:
            if full or now >= next_due:
                next_due = self._full_pass(s, now, horizon)
            result = scheduling.evaluate_dirty_runs(s, self.cache, now, self.only_runs)
            workloads = self._queue(s, now, result.scheduled, free_slots, job_id)
        # Fewer than the free slots: nothing else could be queued as the database stands, so
        # a slot freed later needs no pass of its own (the outcome that freed it is a change).
        slot_bound = free_slots <= 0 or len(workloads) >= free_slots
        return PassResult(workloads, result.finished_runs, next_due, slot_bound)

    def start_queued_runs(self, now: datetime) -> bool:
        """Start queued runs that a finished run made room for; whether any started."""
        with self.env.db.session() as s:
            return bool(run_creation.start_queued_runs(s, now))

    def serialized(self, dag_id: str, version: Any) -> Any:
        """A DAG version as the scheduler's cache holds it."""
        with self.env.db.session(readonly=True) as s:
            return self.cache.get(s, dag_id, version)

    def _full_pass(self, s: Any, now: datetime, horizon: float) -> datetime:
        due = [now + timedelta(seconds=horizon)]
        if self.only_runs is None:
            run_creation.refresh_changed_dags(s, self.cache, now)
            run_creation.create_due_runs(s, self.cache, now)
            nxt = run_creation.next_run_creation_time(s)
            if nxt is not None:
                due.append(nxt)
            create_asset_triggered_runs(s, self.cache, now)
        run_creation.start_queued_runs(s, now)
        _, retry_at = scheduling.promote_due_retries(s, now)
        if retry_at is not None:
            due.append(retry_at)
        return min(due)

    def _queue(
        self, s: Any, now: datetime, decided: set[int], free: int, job_id: int | None
    ) -> list[Workload]:
        if free <= 0:
            return []
        return queueing.queue_ready(
            s,
            now=now,
            free_executor_slots=free,
            secret=self.env.secret_key,
            cache=self.cache,
            estimates=self.estimates,
            job_id=job_id,
            token_ttl=self.token_ttl,
            executor_name=self.executor_name,
            only_run_ids=self.only_runs,
            decided=decided,
        )
