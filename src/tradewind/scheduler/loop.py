"""The scheduler loop: wake on events, make one scheduling pass, hand work to the executor.

It sleeps in ``select()`` on the executor's pipes and the wake-up socket, with a timeout set
to the next thing due (a scheduled run, a retry, a heartbeat), so an idle scheduler costs
nothing, and a task finishing starts its downstream task within milliseconds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from tradewind.core import metrics
from tradewind.core.execution import Outcome, Workload
from tradewind.errors import TaskInstanceMoved
from tradewind.executors.base import BaseExecutor, ExecutorEvent
from tradewind.services import scheduling
from tradewind.services.env import Env
from tradewind.services.execution import ExecutionService
from tradewind.services.latency import LatencyTracker
from tradewind.services.scheduler_pass import SchedulerPass
from tradewind.services.wakeup import TASK_ENDED

log = logging.getLogger("tradewind.scheduler")

#: How often the scheduler checks whether SQLite's planner statistics fell behind the tables
#: (``Database.refresh_statistics_if_grown``; a no-op on PostgreSQL, which has autovacuum).
STATISTICS_CHECK_SEC = 300.0


@dataclass
class SchedulerOptions:
    """Timings of the loop (from settings; tests pass small values)."""

    poll_interval: float = 1.0
    idle_poll_interval: float = 10.0
    heartbeat_sec: float = 5.0
    ti_heartbeat_timeout: float = 30.0
    queued_timeout: float = 600.0
    job_dead_after: float = 30.0
    shutdown_grace: float = 5.0
    exclusive: bool = True

    @classmethod
    def from_env(cls, env: Env) -> SchedulerOptions:
        g = env.settings.get
        return cls(
            poll_interval=float(g("scheduler", "poll_interval")),
            idle_poll_interval=float(g("scheduler", "idle_poll_interval")),
            heartbeat_sec=float(g("scheduler", "scheduler_heartbeat_sec")),
            ti_heartbeat_timeout=float(g("scheduler", "task_instance_heartbeat_timeout")),
            queued_timeout=float(g("scheduler", "task_queued_timeout")),
            job_dead_after=float(g("scheduler", "scheduler_health_check_threshold")),
            shutdown_grace=float(g("scheduler", "shutdown_grace_seconds")),
            exclusive=env.db.is_sqlite,
        )


class Scheduler:
    """Creates runs, decides ready tasks and feeds the executor.

    Args:
        env: services environment (metastore, settings, clock).
        executor: where workloads go.
        execution: the execution service (for outcomes the executor reports, e.g. lost).
        only_runs: restrict to these (dag_id, run_id) runs (``dags test``); no new runs.
    """

    def __init__(
        self,
        env: Env,
        executor: BaseExecutor,
        execution: ExecutionService,
        *,
        options: SchedulerOptions | None = None,
        only_runs: set[tuple[str, str]] | None = None,
        wake_listener: Any = None,
    ):
        self.env = env
        self.executor = executor
        self.execution = execution
        self.options = options or SchedulerOptions.from_env(env)
        self.only_runs = only_runs
        if executor.supervises_heartbeats or only_runs is not None:
            execution.wake_on_change = False
        self.service = SchedulerPass(
            env,
            only_runs=only_runs,
            executor_name=executor.name,
            token_ttl=max(self.options.queued_timeout * 4, 3600.0),
        )
        self.latency = LatencyTracker()
        self.listener = wake_listener
        self.job_id: int | None = None
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._next_heartbeat = 0.0
        self._next_sweep = 0.0
        self._next_statistics = 0.0  # at start too: the database may have grown meanwhile
        self._next_due = datetime.min.replace(tzinfo=timezone.utc)
        self._external = True
        self._poked = False  # woken by the pipe or the listener: pass at least once
        # The last pass filled every free slot: a slot that comes free may take a task.
        self._slot_bound = True
        self.finished_runs: list[scheduling.RunOutcome] = []
        self.on_run_finished: Callable[[scheduling.RunOutcome], None] | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        now = self.env.now()
        self.job_id = self.service.start(
            now, exclusive=self.options.exclusive, dead_after=self.options.job_dead_after
        )
        self.executor.start()
        log.info("scheduler started (job %s, executor %s)", self.job_id, self.executor.name)
        if self.only_runs is None:
            self.recover_lost_tries(now)

    def recover_lost_tries(self, now: datetime) -> None:
        """Tries of this host whose process is gone (a previous scheduler's, a dead worker's)
        are lost now, not at their heartbeat timeout; what a dead scheduler of this host had
        queued is queued again."""
        dead = self.service.dead_local_tries(now, set(self.executor.alive_ti_ids()))
        for ti_id, try_number, seq, why in dead:
            self._report_lost(ti_id, try_number, why, seq)
        self.service.requeue_stuck(
            now, self.options.queued_timeout, self.job_id, self.options.job_dead_after
        )

    def _report_lost(self, ti_id: int, try_number: int, why: str, seq: int | None = None) -> None:
        """Report one try lost (with ``seq``, only that leg of it: a later leg that runs or
        is queued now is left alone); a compare-and-set, so one scheduler of several does it."""
        try:
            answer = self.execution.finish_try(ti_id, try_number, Outcome.LOST, why, seq=seq)
        except TaskInstanceMoved:
            if self.service.requeue_unclaimed(ti_id, try_number, seq):  # still queued
                log.warning(
                    "task instance %s try %s was lost before its claim (%s): scheduled",
                    ti_id,
                    try_number,
                    why,
                )
            return
        log.warning(
            "task instance %s try %s was lost (%s): now %s",
            ti_id,
            try_number,
            why,
            answer.get("state") or "none",
        )

    def stop(self) -> None:
        """Ask the loop to end (safe from signal handlers and other threads)."""
        self._stop.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop())

    def shutdown(self) -> None:
        self.executor.end(self.options.shutdown_grace)
        if self.job_id is not None:
            with contextlib.suppress(Exception):
                self.service.end_job(self.job_id)
        if self.listener is not None:
            self.listener.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        log.info("scheduler stopped")

    # -- one pass -------------------------------------------------------------------------
    def run_once(self, full: bool = True) -> float:
        """One scheduling pass; return seconds until something is due.

        ``full=False`` (a task just finished, nothing else happened) skips creating and starting
        runs, which only timers and outside events (trigger, unpause, new DAG) can require.
        """
        now = self.env.now()
        horizon = self._horizon()
        self._next_due = min(self._next_due, now + timedelta(seconds=horizon))
        # One transaction for the whole pass (services/scheduler_pass.py, #17).
        result = self.service.run(
            now,
            full=full,
            horizon=horizon,
            next_due=self._next_due,
            free_slots=self.executor.free_slots(),
            job_id=self.job_id,
        )
        self._next_due, self._slot_bound = result.next_due, result.slot_bound
        workloads = result.workloads
        if workloads:
            self.latency.queued(w.ti_id for w in workloads)
            self.executor.queue_workloads(workloads)
        for outcome in result.finished_runs:
            self._run_finished(outcome)
        # A finished run frees a max_active_runs slot: start the next queued run now.
        if result.finished_runs and self.service.start_queued_runs(now):
            self._next_due = now
        return max(min((self._next_due - self.env.now()).total_seconds(), horizon), 0.0)

    def _horizon(self) -> float:
        """Longest wait for the next full pass: ``poll_interval`` while the executor runs
        something (a try's end can call for one: an asset-triggered run), else
        ``idle_poll_interval``: what can be due then is known (the next scheduled run, a
        retry) or comes with a wake-up (#17: an idle scheduler's CPU)."""
        if self.executor.in_flight or self.only_runs is not None:
            return self.options.poll_interval
        return max(self.options.idle_poll_interval, self.options.poll_interval)

    def _run_finished(self, outcome: scheduling.RunOutcome) -> None:
        log.info("DAG run %s of %s is %s", outcome.run_id, outcome.dag_id, outcome.state)
        self.finished_runs.append(outcome)
        if self.on_run_finished is not None:
            self.on_run_finished(outcome)
        sdag = self.service.serialized(outcome.dag_id, outcome.dag_version)
        wants = (
            sdag.has_on_success_callback
            if outcome.state == "success"
            else sdag.has_on_failure_callback
        )
        if wants:
            self.executor.queue_workloads(
                [
                    Workload(
                        # The same id in every process (hash() of a str is randomized).
                        ti_id=-(
                            zlib.crc32(f"{outcome.dag_id}\0{outcome.run_id}".encode()) % (10**9)
                        )
                        - 1,
                        dag_id=outcome.dag_id,
                        run_id=outcome.run_id,
                        task_id="",
                        map_index=-1,
                        try_number=0,
                        fileloc=outcome.fileloc,
                        dag_version=outcome.dag_version,
                        token="",
                        kind="callback",
                        callback={
                            "type": "on_success" if outcome.state == "success" else "on_failure",
                            "run_id": outcome.run_id,
                            "dag_id": outcome.dag_id,
                            "state": outcome.state,
                            "reason": outcome.reason,
                        },
                    )
                ]
            )

    # -- events ---------------------------------------------------------------------------
    def handle_executor_events(self, events: list[ExecutorEvent]) -> None:
        for ev in events:
            if ev.ti_id < 0:
                continue
            if ev.outcome == Outcome.LOST.value:
                self._report_lost(ev.ti_id, ev.try_number, ev.message, ev.seq)
                continue
            try:
                self.execution.finish_try(
                    ev.ti_id, ev.try_number, Outcome(ev.outcome), ev.message, seq=ev.seq
                )
                log.warning("task instance %s try %s: %s", ev.ti_id, ev.try_number, ev.message)
            except TaskInstanceMoved:
                pass

    def periodic(self) -> bool:
        """Heartbeats and safety nets, every ``heartbeat_sec``; True when they ran."""
        mono = time.monotonic()
        if mono < self._next_heartbeat and mono < self._next_sweep:
            return False
        now = self.env.now()
        if mono >= self._next_heartbeat:
            self._next_heartbeat = mono + self.options.heartbeat_sec
            supervised = self.executor.supervises_heartbeats
            beating = self.executor.alive_ti_ids() if supervised else None
            restarting = self.service.heartbeat(self.job_id, beating, now)
            if restarting:
                self.executor.stop_tasks(restarting)
            if metrics.enabled():  # reads only: outside the write transaction above
                self.service.report_metrics(self.executor.free_slots(), self.latency)
        if mono >= self._next_sweep:
            self._next_sweep = mono + min(
                self.options.heartbeat_sec, self.options.ti_heartbeat_timeout / 3
            )
            if self.only_runs is None:
                self.recover_lost_tries(now)
            stale, late = self.service.sweep(now, self.options.ti_heartbeat_timeout)
            if late:  # sent after the commit that marked them missed: never twice
                self.executor.queue_workloads(late)
            if mono >= self._next_statistics:  # SQLite plans go bad as the tables grow
                self._next_statistics = mono + STATISTICS_CHECK_SEC
                self.service.refresh_statistics()
            alive = set(self.executor.alive_ti_ids())
            for ti_id, try_number in stale:
                if ti_id not in alive:
                    why = f"no heartbeat for {self.options.ti_heartbeat_timeout:g} s"
                    self._report_lost(ti_id, try_number, f"{why}: the worker is gone")
        return True

    def _wait(self, timeout: float) -> None:
        fds = [self._wake_r, *self.executor.filenos()]
        if self.listener is not None:
            fds.extend(self.listener.filenos())
        heartbeat_in = max(self._next_heartbeat - time.monotonic(), 0.0)
        try:
            ready, _, _ = select.select(fds, [], [], max(min(timeout, heartbeat_in), 0.0))
        except InterruptedError:
            return
        if self._wake_r in ready:
            self._poked = True
            with contextlib.suppress(BlockingIOError, OSError):
                os.read(self._wake_r, 4096)
        if self.listener is not None:
            kinds = self.listener.drain()
            if kinds:
                self._poked = True
            # A try that ended elsewhere (Celery) needs only the partial pass; anything else
            # (trigger, clear, unpause, new DAG) a full one.
            if kinds - {TASK_ENDED}:
                self._external = True
            elif kinds:  # another scheduler's try ended: a full pass within poll_interval
                soon = self.env.now() + timedelta(seconds=self.options.poll_interval)
                self._next_due = min(self._next_due, soon)

    def _freed_slot_wanted(self) -> bool:
        """A worker came free, the last pass ran out of slots, and no queued try took the
        worker already: a pass may queue one."""
        return self.executor.freed and self._slot_bound and self.executor.free_slots() > 0

    def loop(self, until: Callable[[], bool] | None = None) -> None:
        """Run until :meth:`stop` (or ``until()`` is true)."""
        pass_at = 0.0
        again = False  # the poll after the last pass changed something: pass before sleeping
        while not self._stop.is_set():
            self.executor.changed = self.executor.freed = False
            events = self.executor.poll()
            self.handle_executor_events(events)
            swept = self.periodic()
            # A wake-up that only served reads (a claim, an XCom) changes nothing to decide:
            # no pass (it would cost a write transaction and two queries per task start).
            if (
                again
                or events
                or swept
                or self.executor.changed
                or self._freed_slot_wanted()
                or self._external
                or self._poked
                or time.monotonic() >= pass_at
                or not self.executor.reports_changes
            ):
                self._poked = again = False
                with metrics.timer("scheduler.scheduler_loop_duration"):
                    wait = self.run_once(full=self._external)
                pass_at = time.monotonic() + wait
                self._external = False
            self.executor.changed = self.executor.freed = False
            self.handle_executor_events(self.executor.poll())
            if until is not None and until():
                return
            if self.executor.changed or self._freed_slot_wanted():
                # an outcome served (or a needed slot freed) just now: pass again first
                again = True
            else:
                self._wait(max(pass_at - time.monotonic(), 0.0))

    def run(self) -> None:
        """start, loop until stopped, shut down."""
        self.start()
        try:
            self.loop()
        finally:
            self.shutdown()
