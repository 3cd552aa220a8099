"""Hand ready task instances to the executor: slots, pools and priorities (via the pure
planner), and the safety nets: heartbeat timeouts, queued timeouts, orphaned tasks.
"""

from __future__ import annotations

import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import BigInteger, Integer, String, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from tradewind.core.execution import Workload
from tradewind.core.planning import Candidate, Limits, Running, plan, unrunnable
from tradewind.core.states import TaskInstanceState as TI
from tradewind.errors import TradewindError
from tradewind.metastore.tables import DagModel, Job, Pool, TaskInstance, TaskInstanceHistory
from tradewind.services.lost_tries import pid_alive
from tradewind.services.readiness import keep_ready
from tradewind.services.scheduling import DagCache, ListStatement
from tradewind.services.ti_state import ti_columns, ti_update, touch_runs
from tradewind.services.tokens import issue_ti_token
from tradewind.services.try_end import record_history

# Table objects: hot paths use Core statements, which cost a fraction of ORM ones.
TIT = cast(Table, TaskInstance.__table__)
TIc = TIT.c

DEFAULT_POOL = "default_pool"
DEFAULT_POOL_SLOTS = 128
_RUNNING = [TI.QUEUED.value, TI.RUNNING.value]


def ensure_default_pool(session: Session) -> None:
    """Create ``default_pool`` (128 slots, as Airflow) if it is missing."""
    if session.execute(select(Pool.id).where(Pool.pool == DEFAULT_POOL)).first() is None:
        session.add(
            Pool(
                pool=DEFAULT_POOL,
                slots=DEFAULT_POOL_SLOTS,
                description="Default pool",
                include_deferred=False,
            )
        )


class DurationEstimates:
    """Expected task durations from history (mean of recent successful tries), per DAG,
    refreshed at most once a minute."""

    def __init__(self, default: float = 1.0, ttl: float = 60.0):
        self.default = default
        self.ttl = ttl
        self._cache: dict[str, tuple[float, dict[str, float]]] = {}

    def get(self, session: Session, dag_id: str, task_id: str) -> float:
        entry = self._cache.get(dag_id)
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            recent = (
                select(TaskInstanceHistory.task_id, TaskInstanceHistory.duration)
                .where(
                    TaskInstanceHistory.dag_id == dag_id,
                    TaskInstanceHistory.state == TI.SUCCESS.value,
                    TaskInstanceHistory.duration.is_not(None),
                )
                .order_by(TaskInstanceHistory.id.desc())
                .limit(2000)
                .subquery()
            )
            rows = session.execute(
                select(recent.c.task_id, func.avg(recent.c.duration)).group_by(recent.c.task_id)
            ).all()
            entry = (time.monotonic(), {t: float(d) for t, d in rows})
            self._cache[dag_id] = entry
        return entry[1].get(task_id, self.default)

    def forget(self) -> None:
        self._cache.clear()


# Built once: constructing a statement costs more CPU than executing a cached one, and the
# scheduler queues after every finished task.
_NOW = bindparam("now", type_=TIc.updated_at.type)
_Pc = Pool.__table__.c
# Every pool's size, and whether a task instance waits in it (one index seek per pool in
# ix_ti_queue_order). A GROUP BY over the scheduled task instances read every one of them
# on each pass: in a 10,000-task fan-out, 10,000 index entries per finished task (#17).
# Task instances of a pool that does not exist are not read: they stay scheduled anyway.
_POOLS = select(
    _Pc.pool,
    _Pc.slots,
    select(TIc.id)
    .where(TIc.state == TI.SCHEDULED.value, TIc.pool == _Pc.pool)
    .exists()
    .label("waiting"),
)
_POOLS_LOCKED = select(_Pc.pool, _Pc.slots).with_for_update()  # serialises slot counting
_CANDIDATES = (
    select(
        TIc.id,
        TIc.dag_id,
        TIc.run_id,
        TIc.task_id,
        TIc.pool,
        TIc.pool_slots,
        TIc.priority_weight,
        TIc.scheduled_dttm,
        TIc.map_index,
        TIc.try_number,
        TIc.queue,
        TIc.dag_version,
    )
    .where(TIc.state == TI.SCHEDULED.value, TIc.pool == bindparam("b_pool"))
    .order_by(TIc.priority_weight.desc(), TIc.scheduled_dttm, TIc.id)
    .limit(bindparam("b_limit", type_=Integer))
)
_CANDIDATES_LOCKED = _CANDIDATES.with_for_update(skip_locked=True)
_ACTIVE = select(
    TIc.id,
    TIc.dag_id,
    TIc.task_id,
    TIc.pool,
    TIc.pool_slots,
    TIc.start_date,
    TIc.queued_dttm,
    TIc.run_id,
).where(TIc.state.in_(_RUNNING))
_DMc = DagModel.__table__.c
_MAX_TASKS = ListStatement(
    lambda in_list: select(_DMc.dag_id, _DMc.max_active_tasks).where(in_list(_DMc.dag_id)),
    "dag_ids",
    String,
)


def _to_queued(in_list: Callable[[Any], Any]) -> Any:
    return ti_update(
        TI.SCHEDULED,
        TI.QUEUED,
        in_list(TIc.id),
        queued_dttm=_NOW,
        queued_by_job_id=bindparam("b_job", type_=Integer),
        executor=bindparam("b_executor"),
        updated_at=_NOW,
        queue_seq=TIc.queue_seq + 1,  # a new leg: the tokens of earlier legs end (#18)
    )


_TO_QUEUED = ListStatement(_to_queued, "ids", BigInteger)
_TO_QUEUED_RETURNING = ListStatement(
    lambda in_list: _to_queued(in_list).returning(TIc.id, TIc.queue_seq), "ids", BigInteger
)
_QUEUE_SEQ = select(TIc.queue_seq).where(TIc.id == bindparam("b_id"))


def _candidate_rows(
    session: Session, per_pool_limit: int
) -> tuple[dict[str, int], list[Any], bool] | None:
    """The pools' sizes, the top scheduled task instances of each pool (pools and task
    instances locked on PostgreSQL) and whether a pool had more; None when nothing is
    scheduled (nothing is locked)."""
    found = session.execute(_POOLS).all()
    pool_names = [r.pool for r in found if r.waiting]
    if not pool_names:
        return None
    pg = session.get_bind().dialect.name == "postgresql"
    if pg:  # the sizes again, locked, now that there is something to count slots for
        found = session.execute(_POOLS_LOCKED).all()
    pools = {r.pool: r.slots for r in found}
    stmt = _CANDIDATES_LOCKED if pg else _CANDIDATES
    rows: list[Any] = []
    truncated = False
    for pool in pool_names:
        found = session.execute(stmt, {"b_pool": pool, "b_limit": per_pool_limit}).all()
        truncated = truncated or len(found) >= per_pool_limit
        rows.extend(found)
    return pools, rows, truncated


def _mark_queued(
    session: Session, ids: list[int], now: datetime, job_id: int | None, executor_name: str
) -> dict[int, int]:
    """scheduled -> queued (compare-and-set) for ``ids``; return the ``queue_seq`` (the new
    leg) of each that moved."""
    params = {"now": now, "b_job": job_id, "b_executor": executor_name}
    moved: dict[int, int] = {}
    if session.get_bind().dialect.update_returning:
        stmt = _TO_QUEUED_RETURNING.on(session)
        for i in range(0, len(ids), 500):
            rows = session.execute(stmt, {**params, "ids": ids[i : i + 500]})
            moved.update((ti_id, seq) for ti_id, seq in rows)
        return moved
    stmt = _TO_QUEUED.on(session)
    for i in ids:
        if session.execute(stmt, {**params, "ids": [i]}).rowcount:  # type: ignore[attr-defined]
            moved[i] = session.execute(_QUEUE_SEQ, {"b_id": i}).scalar_one()
    return moved


def queue_ready(
    session: Session,
    *,
    now: datetime,
    free_executor_slots: int,
    secret: str,
    cache: DagCache,
    estimates: DurationEstimates,
    job_id: int | None,
    token_ttl: float,
    executor_name: str = "LocalExecutor",
    only_run_ids: set[tuple[str, str]] | None = None,
    per_pool_limit: int = 512,
    decided: Collection[int] = (),
) -> list[Workload]:
    """Move the scheduled task instances the planner picks to queued; return their workloads.

    Queueing changes nothing a run's readiness or end depends on (scheduled and queued are
    both unfinished), so it does not mark runs changed. ``decided``: task instances this
    transaction scheduled from their upstream's states (``PassResult.scheduled``).
    """
    if free_executor_slots <= 0:
        return []
    # The top few of each pool fill the free slots nearly always: reading (and planning) 512
    # candidates per pass made each task of a 1,000-task fan-out cost 4x one of 100 (#17).
    # When they do not (reservations, caps, a pool too small), the full depth is read again.
    depth = min(per_pool_limit, 4 * free_executor_slots + 16)
    picked, truncated = _pick(
        session, now, free_executor_slots, cache, estimates, only_run_ids, depth, decided
    )
    if truncated and len(picked) < free_executor_slots and depth < per_pool_limit:
        picked, _ = _pick(
            session,
            now,
            free_executor_slots,
            cache,
            estimates,
            only_run_ids,
            per_pool_limit,
            decided,
        )
    if not picked:
        return []
    moved = _mark_queued(session, [r.id for r in picked], now, job_id, executor_name)
    return [
        _workload(session, r, cache, secret, token_ttl, moved[r.id])
        for r in picked
        if r.id in moved
    ]


def _pick(
    session: Session,
    now: datetime,
    free_executor_slots: int,
    cache: DagCache,
    estimates: DurationEstimates,
    only_run_ids: set[tuple[str, str]] | None,
    per_pool_limit: int,
    decided: Collection[int],
) -> tuple[list[Any], bool]:
    """The scheduled rows the planner picks from the top ``per_pool_limit`` of each pool (and
    whether a pool had more), after the per-task caps and the readiness check."""
    found = _candidate_rows(session, per_pool_limit)
    if found is None:
        return [], False
    pools, rows, truncated = found
    if only_run_ids is not None:
        rows = [r for r in rows if (r.dag_id, r.run_id) in only_run_ids]
    running_rows = session.execute(_ACTIVE).all()
    # Only DAGs with candidates need their cap: the planner reads no other.
    dag_ids = sorted({r.dag_id for r in rows})
    max_tasks = (
        dict(session.execute(_MAX_TASKS.on(session), {"dag_ids": dag_ids}).all()) if dag_ids else {}
    )
    candidates = [
        Candidate(
            key=r.id,
            dag_id=r.dag_id,
            pool=r.pool,
            pool_slots=r.pool_slots,
            priority_weight=r.priority_weight,
            expected_duration=estimates.get(session, r.dag_id, r.task_id),
            order=r.scheduled_dttm.timestamp() if r.scheduled_dttm else 0.0,
        )
        for r in rows
    ]
    running = [
        Running(
            key=r.id,
            dag_id=r.dag_id,
            pool=r.pool,
            pool_slots=r.pool_slots,
            expected_end=(r.start_date or r.queued_dttm or now)
            + timedelta(seconds=estimates.get(session, r.dag_id, r.task_id)),
        )
        for r in running_rows
    ]
    limits = Limits(
        parallelism=len(running_rows) + free_executor_slots, pools=pools, max_active_tasks=max_tasks
    )
    chosen = plan(candidates, running, limits, now)
    _fail_unrunnable(session, unrunnable(candidates, limits), now)
    by_id = {r.id: r for r in rows}
    per_task = Counter((r.dag_id, r.task_id) for r in running_rows)
    per_run = Counter((r.dag_id, r.run_id, r.task_id) for r in running_rows)
    picked: list[Any] = []
    for ti_id in chosen:
        r = by_id[ti_id]
        task = cache.get(session, r.dag_id, r.dag_version).tasks.get(r.task_id)
        limit = task.max_active_tis_per_dag if task is not None else None
        if limit is not None and per_task[(r.dag_id, r.task_id)] >= limit:
            continue  # max_active_tis_per_dag: this task runs at most that many at once
        run_limit = task.data.get("max_active_tis_per_dagrun") if task is not None else None
        if run_limit is not None and per_run[(r.dag_id, r.run_id, r.task_id)] >= run_limit:
            continue  # max_active_tis_per_dagrun: at most that many instances per run
        per_task[(r.dag_id, r.task_id)] += 1
        per_run[(r.dag_id, r.run_id, r.task_id)] += 1
        picked.append(r)
    return keep_ready(session, picked, cache, now, decided), truncated


def _workload(
    session: Session, r: Any, cache: DagCache, secret: str, token_ttl: float, seq: int
) -> Workload:
    sdag = cache.get(session, r.dag_id, r.dag_version)
    task = sdag.tasks.get(r.task_id)
    return Workload(
        ti_id=r.id,
        dag_id=r.dag_id,
        run_id=r.run_id,
        task_id=r.task_id,
        map_index=r.map_index,
        try_number=r.try_number,
        fileloc=sdag.fileloc,
        dag_version=r.dag_version,
        token=issue_ti_token(secret, r.id, r.try_number, token_ttl, seq=seq),
        queue=r.queue,
        timeout=task.execution_timeout if task is not None else None,
    )


_FAIL_UNRUNNABLE = ti_update(
    TI.SCHEDULED, TI.FAILED, TIc.id == bindparam("b_id"), end_date=_NOW, updated_at=_NOW
)
_REQUEUE = ti_update(TI.QUEUED, TI.SCHEDULED, TIc.id == bindparam("b_id"), updated_at=_NOW)


def _fail_unrunnable(session: Session, bad: dict[Any, str], now: datetime) -> None:
    """A task that can never get its slots (pool missing or too small) fails with the reason."""
    for ti_id, why in bad.items():
        ti = session.get(TaskInstance, ti_id)
        if ti is None or ti.state != TI.SCHEDULED.value:
            continue
        if ti.pool not in {p for p in session.execute(select(Pool.pool)).scalars()}:
            # A missing pool may be created later: leave it scheduled, as Airflow does.
            continue
        session.execute(_FAIL_UNRUNNABLE, {"b_id": ti_id, "now": now})
        ti.end_date = now
        record_history(session, ti, TI.FAILED.value, why)
        touch_runs(session, [(ti.dag_id, ti.run_id)])


def heartbeat_alive(session: Session, ti_ids: list[int], now: datetime) -> list[int]:
    """Record liveness for tasks the executor vouches for; return those cleared meanwhile."""
    if not ti_ids:
        return []
    session.execute(
        ti_columns(TIc.id.in_(ti_ids), TIc.state == TI.RUNNING.value)
        .values(last_heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    # Cleared while running (restarting): the worker must stop the try. A try that just
    # reported its outcome is not stopped: its process is on its way out anyway.
    return list(
        session.execute(
            select(TIc.id).where(TIc.id.in_(ti_ids), TIc.state == TI.RESTARTING.value)
        ).scalars()
    )


def find_stale_running(session: Session, now: datetime, timeout: float) -> list[tuple[int, int]]:
    """Running (or restarting) task instances whose heartbeat stopped: (ti_id, try_number)."""
    cutoff = now - timedelta(seconds=timeout)
    return [
        (r[0], r[1])
        for r in session.execute(
            select(TIc.id, TIc.try_number).where(
                TIc.state.in_([TI.RUNNING.value, TI.RESTARTING.value]),
                TIc.last_heartbeat_at < cutoff,
            )
        ).all()
    ]


def requeue_stuck(
    session: Session, now: datetime, queued_timeout: float, job_id: int | None, dead_after: float
) -> int:
    """Queued too long, or queued by a scheduler that died: back to scheduled (re-queued)."""
    cutoff = now - timedelta(seconds=queued_timeout)
    dead_cutoff = now - timedelta(seconds=dead_after)
    live_jobs = set(
        session.execute(
            select(Job.id).where(
                Job.job_type == "SchedulerJob",
                Job.state == "running",
                Job.latest_heartbeat >= dead_cutoff,
            )
        ).scalars()
    )
    rows = session.execute(
        select(TIc.id, TIc.queued_by_job_id, TIc.queued_dttm, TIc.dag_id, TIc.run_id).where(
            TIc.state == TI.QUEUED.value
        )
    ).all()
    moved = 0
    runs = set()
    for ti_id, by_job, queued_at, dag_id, run_id in rows:
        orphan = by_job is not None and by_job != job_id and by_job not in live_jobs
        if orphan or (queued_at is not None and queued_at < cutoff):
            moved += session.execute(_REQUEUE, {"b_id": ti_id, "now": now}).rowcount  # type: ignore[attr-defined]
            runs.add((dag_id, run_id))
    touch_runs(session, runs)
    return moved


# -- scheduler jobs -----------------------------------------------------------------------
def register_job(
    session: Session, job_type: str, now: datetime, *, exclusive: bool, dead_after: float
) -> int:
    """Record a running component; with ``exclusive`` refuse if a live one exists (SQLite)."""
    if exclusive:
        alive = (
            session.execute(
                select(Job).where(
                    Job.job_type == job_type,
                    Job.state == "running",
                    Job.latest_heartbeat >= now - timedelta(seconds=dead_after),
                )
            )
            .scalars()
            .first()
        )
        if (
            alive is not None
            and alive.hostname == socket.gethostname()
            and not pid_alive(alive.pid)
        ):
            # killed without a chance to say so (kill -9, power cut)
            session.execute(
                update(Job).where(Job.id == alive.id).values(state="failed", end_date=now)
            )
            alive = None
        if alive is not None:
            raise TradewindError(
                f"another {job_type} (pid {alive.pid} on {alive.hostname}) is running against this SQLite "
                "metastore; SQLite supports one scheduler. Stop it, or use PostgreSQL to run several."
            )
    job = Job(
        job_type=job_type,
        state="running",
        hostname=socket.gethostname(),
        pid=os.getpid(),
        start_date=now,
        latest_heartbeat=now,
    )
    session.add(job)
    session.flush()
    return job.id


def process_alive(pid: int | None) -> bool:
    """True if process ``pid`` of this host exists and is not a zombie."""
    return pid_alive(pid)


def heartbeat_job(session: Session, job_id: int, now: datetime) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(latest_heartbeat=now))


def end_job(session: Session, job_id: int, now: datetime) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(state="success", end_date=now))


def count_by_state(session: Session) -> dict[str, int]:
    return {
        str(s): n
        for s, n in session.execute(select(TIc.state, func.count()).group_by(TIc.state)).all()
    }
