"""The scheduler's use cases on the metastore: decide which task instances of running runs
are ready, finish runs, promote retries. Creating and starting runs is in ``run_creation``. Pure decisions live in ``core``/``scheduler.planning``;
this module does the reading and compare-and-set writing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from tradewind.core.states import FINISHED_STATES, DagRunState
from tradewind.core.states import TaskInstanceState as TI
from tradewind.core.trigger_rules import Decision, UpstreamStates, evaluate
from tradewind.metastore.tables import Backfill, DagRun, TaskInstance
from tradewind.sdk.serialization import SerializedDag
from tradewind.services.dag_store import get_serialized_dag

# Table objects: hot paths use Core statements, which cost a fraction of ORM ones.
TIT = TaskInstance.__table__
TIc = TIT.c

ACTIVE_RUN_STATES = (DagRunState.QUEUED.value, DagRunState.RUNNING.value)
_FINISHED = {s.value for s in FINISHED_STATES}


@dataclass
class RunOutcome:
    """A run that just ended, for DAG-level callbacks."""

    dag_id: str
    run_id: str
    state: str
    fileloc: str
    dag_version: str | None
    reason: str


@dataclass
class PassResult:
    """What one scheduling pass did."""

    runs_created: int = 0
    runs_started: int = 0
    tis_changed: int = 0
    finished_runs: list[RunOutcome] = field(default_factory=list)


class DagCache:
    """Serialized DAGs by (dag_id, version); the scheduler never imports user code."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str | None], SerializedDag] = {}

    def get(self, session: Session, dag_id: str, version: str | None) -> SerializedDag:
        key = (dag_id, version)
        sdag = self._items.get(key)
        if sdag is None:
            sdag = get_serialized_dag(session, dag_id, version)
            if len(self._items) > 2000:
                self._items.clear()
            self._items[key] = sdag
            if version is None:
                self._items[(dag_id, sdag.version)] = sdag
        return sdag


def _locked(q: Any, session: Session) -> Any:
    """Add FOR UPDATE SKIP LOCKED where the database has it (PostgreSQL, MySQL 8)."""
    if session.get_bind().dialect.name in ("postgresql", "mysql"):
        return q.with_for_update(skip_locked=True)
    return q


# -- next run of each DAG -----------------------------------------------------------------
def _past_ok(session: Session, run: DagRun, task: Any, cache: dict[tuple[str, str], bool]) -> bool:
    """depends_on_past / wait_for_downstream: the same task (and its downstream) in the
    previous run must have succeeded or been skipped."""
    if run.logical_date is None:
        return True
    key = (run.dag_id, task.task_id)
    if key in cache:
        return cache[key]
    prev = session.execute(
        select(DagRun.run_id)
        .where(DagRun.dag_id == run.dag_id, DagRun.logical_date < run.logical_date)
        .order_by(DagRun.logical_date.desc())
        .limit(1)
    ).scalar_one_or_none()
    ok = True
    if prev is not None:
        ids = [task.task_id] + (list(task.downstream_task_ids) if task.wait_for_downstream else [])
        states = (
            session.execute(
                select(TIc.state).where(
                    TIc.dag_id == run.dag_id, TIc.run_id == prev, TIc.task_id.in_(ids)
                )
            )
            .scalars()
            .all()
        )
        ok = all(s in (TI.SUCCESS.value, TI.SKIPPED.value) for s in states)
    cache[key] = ok
    return ok


def evaluate_run(
    session: Session, run: DagRun, sdag: SerializedDag, now: datetime
) -> tuple[int, RunOutcome | None]:
    """Decide the waiting task instances of one running run; finish the run when all are done."""
    waiting = session.execute(
        select(TIc.id, TIc.task_id).where(
            TIc.dag_id == run.dag_id, TIc.run_id == run.run_id, TIc.state.is_(None)
        )
    ).all()
    changed = 0
    if waiting:
        wait_ids = {tid: ti_id for ti_id, tid in waiting}
        needed: set[str] = set()
        for tid in wait_ids:
            task = sdag.tasks.get(tid)
            if task is not None:
                needed.update(task.upstream_task_ids)
        states: dict[str, str | None] = {tid: None for tid in wait_ids}
        outside = list(needed - set(wait_ids))
        for i in range(0, len(outside), 500):
            for tid, st in session.execute(
                select(TIc.task_id, TIc.state).where(
                    TIc.dag_id == run.dag_id,
                    TIc.run_id == run.run_id,
                    TIc.task_id.in_(outside[i : i + 500]),
                )
            ).all():
                states[tid] = st
        order = [t for t in sdag.topological_order() if t in wait_ids]
        past_cache: dict[tuple[str, str], bool] = {}
        to_schedule: list[int] = []
        for tid in order:
            task = sdag.tasks.get(tid)
            if task is None:
                session.execute(
                    update(TIT)
                    .where(TIc.id == wait_ids[tid])
                    .values(state=TI.REMOVED.value, updated_at=now)
                )
                states[tid] = TI.REMOVED.value
                changed += 1
                continue
            ups = UpstreamStates.from_states(states.get(u) for u in task.upstream_task_ids)
            decision = evaluate(task.trigger_rule, ups)
            if decision is Decision.WAIT:
                continue
            if decision is Decision.RUN:
                if task.depends_on_past and not _past_ok(session, run, task, past_cache):
                    continue
                to_schedule.append(wait_ids[tid])
                states[tid] = TI.SCHEDULED.value
            else:
                new = TI.SKIPPED if decision is Decision.SKIP else TI.UPSTREAM_FAILED
                session.execute(
                    update(TIT)
                    .where(TIc.id == wait_ids[tid], TIc.state.is_(None))
                    .values(
                        state=new.value, start_date=now, end_date=now, duration=0.0, updated_at=now
                    )
                )
                states[tid] = new.value
                changed += 1
        for i in range(0, len(to_schedule), 500):
            changed += session.execute(
                update(TIT)
                .where(TIc.id.in_(to_schedule[i : i + 500]), TIc.state.is_(None))
                .values(
                    state=TI.SCHEDULED.value,
                    try_number=TIc.try_number + 1,
                    scheduled_dttm=now,
                    updated_at=now,
                    next_retry_at=None,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
    outcome = _maybe_finish_run(session, run, sdag, now)
    return changed, outcome


def _maybe_finish_run(
    session: Session, run: DagRun, sdag: SerializedDag, now: datetime
) -> RunOutcome | None:
    counts = dict(
        session.execute(
            select(TIc.state, func.count())
            .where(TIc.dag_id == run.dag_id, TIc.run_id == run.run_id)
            .group_by(TIc.state)
        ).all()
    )
    unfinished = sum(n for st, n in counts.items() if st not in _FINISHED)
    if sdag.fail_fast and counts.get(TI.FAILED.value):
        _fail_remaining(session, run, now)
        unfinished = 0
    if unfinished:
        if (
            run.state == DagRunState.RUNNING.value
            and sdag.dagrun_timeout
            and run.start_date
            and (now - run.start_date).total_seconds() > sdag.dagrun_timeout
        ):
            _fail_remaining(session, run, now)
            return _end_run(session, run, sdag, DagRunState.FAILED, now, "timed_out")
        return None
    leaves = [t for t, task in sdag.tasks.items() if not task.downstream_task_ids]
    leaf_states = set(
        session.execute(
            select(TIc.state).where(
                TIc.dag_id == run.dag_id, TIc.run_id == run.run_id, TIc.task_id.in_(leaves[:900])
            )
        ).scalars()
    )
    failed = bool(leaf_states & {TI.FAILED.value, TI.UPSTREAM_FAILED.value}) or bool(
        counts.get(TI.FAILED.value) and sdag.fail_fast
    )
    state = DagRunState.FAILED if failed else DagRunState.SUCCESS
    return _end_run(session, run, sdag, state, now, "task_failure" if failed else "success")


def _fail_remaining(session: Session, run: DagRun, now: datetime) -> None:
    """Stop what has not run yet (fail_fast, dagrun_timeout)."""
    session.execute(
        update(TIT)
        .where(
            TIc.dag_id == run.dag_id,
            TIc.run_id == run.run_id,
            or_(
                TIc.state.is_(None),
                TIc.state.in_(
                    [TI.SCHEDULED.value, TI.UP_FOR_RETRY.value, TI.UP_FOR_RESCHEDULE.value]
                ),
            ),
        )
        .values(state=TI.SKIPPED.value, end_date=now, updated_at=now)
    )
    session.execute(
        update(TIT)
        .where(
            TIc.dag_id == run.dag_id,
            TIc.run_id == run.run_id,
            TIc.state.in_([TI.QUEUED.value, TI.RUNNING.value, TI.DEFERRED.value]),
        )
        .values(state=TI.FAILED.value, end_date=now, updated_at=now)
    )


def _end_run(
    session: Session,
    run: DagRun,
    sdag: SerializedDag,
    state: DagRunState,
    now: datetime,
    reason: str,
) -> RunOutcome:
    run.state = state.value
    run.end_date = now
    if run.backfill_id is not None:
        _maybe_complete_backfill(session, run.backfill_id, now, exclude=run.id)
    return RunOutcome(run.dag_id, run.run_id, state.value, sdag.fileloc, run.dag_version, reason)


def _maybe_complete_backfill(
    session: Session, backfill_id: int, now: datetime, exclude: int
) -> None:
    left = session.execute(
        select(func.count()).where(
            DagRun.backfill_id == backfill_id,
            DagRun.state.in_(ACTIVE_RUN_STATES),
            DagRun.id != exclude,
        )
    ).scalar_one()
    if not left:
        session.execute(
            update(Backfill)
            .where(Backfill.id == backfill_id)
            .values(completed_at=now, updated_at=now)
        )


def evaluate_dirty_runs(
    session: Session,
    cache: DagCache,
    now: datetime,
    only_run_ids: set[tuple[str, str]] | None = None,
) -> PassResult:
    """Re-examine every running run something happened in since the last look."""
    result = PassResult()
    runs = (
        session.execute(
            _locked(
                select(DagRun)
                .where(
                    DagRun.state == DagRunState.RUNNING.value, DagRun.change_seq > DagRun.seen_seq
                )
                .limit(1000),
                session,
            )
        )
        .scalars()
        .all()
    )
    for run in runs:
        if only_run_ids is not None and (run.dag_id, run.run_id) not in only_run_ids:
            continue
        seen = run.change_seq
        sdag = cache.get(session, run.dag_id, run.dag_version)
        changed, outcome = evaluate_run(session, run, sdag, now)
        result.tis_changed += changed
        run.seen_seq = seen
        run.last_scheduling_decision = now
        if outcome is not None:
            result.finished_runs.append(outcome)
    return result


def promote_due_retries(session: Session, now: datetime) -> tuple[int, datetime | None]:
    """up_for_retry / up_for_reschedule whose time came -> scheduled; return the next due time."""
    due = session.execute(
        _locked(
            select(TIc.id, TIc.state, TIc.dag_id, TIc.run_id).where(
                TIc.state.in_([TI.UP_FOR_RETRY.value, TI.UP_FOR_RESCHEDULE.value]),
                TIc.next_retry_at <= now,
            ),
            session,
        )
    ).all()
    moved = 0
    runs: set[tuple[str, str]] = set()
    for ti_id, state, dag_id, run_id in due:
        bump = 1 if state == TI.UP_FOR_RETRY.value else 0
        moved += session.execute(
            update(TIT)
            .where(TIc.id == ti_id, TIc.state == state)
            .values(
                state=TI.SCHEDULED.value,
                try_number=TIc.try_number + bump,
                scheduled_dttm=now,
                updated_at=now,
            )
        ).rowcount
        runs.add((dag_id, run_id))
    if runs:
        from tradewind.services.ti_state import touch_runs

        touch_runs(session, runs)
    nxt = session.execute(
        select(func.min(TIc.next_retry_at)).where(
            TIc.state.in_([TI.UP_FOR_RETRY.value, TI.UP_FOR_RESCHEDULE.value]),
            TIc.next_retry_at > now,
        )
    ).scalar_one_or_none()
    return moved, nxt
