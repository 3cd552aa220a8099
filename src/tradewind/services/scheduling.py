"""The scheduler's use cases on the metastore: create due runs, start them, decide which task
instances are ready, and finish runs. Pure decisions live in ``core``/``scheduler.planning``;
this module does the reading and compare-and-set writing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from tradewind.core.states import FINISHED_STATES, DagRunState, DagRunType
from tradewind.core.states import TaskInstanceState as TI
from tradewind.core.trigger_rules import Decision, UpstreamStates, evaluate
from tradewind.metastore.tables import Backfill, DagModel, DagRun, TaskInstance
from tradewind.sdk.serialization import SerializedDag
from tradewind.sdk.timetables import DataInterval, TimeRestriction
from tradewind.services.dag_store import get_serialized_dag
from tradewind.services.runs import create_run, run_id_for

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
def _last_automated(session: Session, dag_id: str) -> DataInterval | None:
    row = session.execute(
        select(DagRun.data_interval_start, DagRun.data_interval_end)
        .where(DagRun.dag_id == dag_id, DagRun.run_type == DagRunType.SCHEDULED.value)
        .order_by(DagRun.logical_date.desc())
        .limit(1)
    ).first()
    if row is None or row[0] is None:
        return None
    return DataInterval(row[0], row[1])


def compute_next_dagrun(
    session: Session,
    dag: DagModel,
    sdag: SerializedDag,
    now: datetime,
    last: DataInterval | None = None,
) -> None:
    """Set ``dag.next_dagrun*`` from the timetable and the last scheduled run."""
    tt = sdag.timetable
    info = None
    if tt.can_be_scheduled:
        restriction = TimeRestriction(
            earliest=datetime.fromisoformat(sdag.start_date) if sdag.start_date else None,
            latest=datetime.fromisoformat(sdag.end_date) if sdag.end_date else None,
            catchup=bool(sdag.catchup),
        )
        last = last if last is not None else _last_automated(session, dag.dag_id)
        if tt.periodic or last is None:
            info = tt.next_dagrun_info(
                last_automated_data_interval=last, restriction=restriction, now=now
            )
    if info is None:
        dag.next_dagrun = dag.next_dagrun_create_after = None
        dag.next_dagrun_data_interval_start = dag.next_dagrun_data_interval_end = None
    else:
        dag.next_dagrun = info.logical_date
        dag.next_dagrun_data_interval_start = info.data_interval.start
        dag.next_dagrun_data_interval_end = info.data_interval.end
        dag.next_dagrun_create_after = info.run_after
    dag.timetable_checked_version = dag.latest_version


def refresh_changed_dags(session: Session, cache: DagCache, now: datetime) -> int:
    """Compute the next run of DAGs that are new, changed or just unpaused."""
    dags = (
        session.execute(
            select(DagModel).where(
                DagModel.is_active.is_(True),
                DagModel.is_paused.is_(False),
                DagModel.latest_version.is_not(None),
                or_(
                    DagModel.timetable_checked_version.is_(None),
                    DagModel.timetable_checked_version != DagModel.latest_version,
                ),
            )
        )
        .scalars()
        .all()
    )
    for dag in dags:
        compute_next_dagrun(session, dag, cache.get(session, dag.dag_id, dag.latest_version), now)
    return len(dags)


def _active_counts(session: Session, dag_ids: list[str]) -> Counter[str]:
    if not dag_ids:
        return Counter()
    rows = session.execute(
        select(DagRun.dag_id, func.count())
        .where(DagRun.dag_id.in_(dag_ids), DagRun.state.in_(ACTIVE_RUN_STATES))
        .group_by(DagRun.dag_id)
    ).all()
    return Counter({d: n for d, n in rows})


def create_due_runs(session: Session, cache: DagCache, now: datetime) -> int:
    """Create the scheduled runs whose time has come (catching up one interval at a time)."""
    dags = (
        session.execute(
            _locked(
                select(DagModel).where(
                    DagModel.next_dagrun_create_after <= now,
                    DagModel.is_paused.is_(False),
                    DagModel.is_active.is_(True),
                ),
                session,
            )
        )
        .scalars()
        .all()
    )
    active = _active_counts(session, [d.dag_id for d in dags])
    created = 0
    for dag in dags:
        sdag = cache.get(session, dag.dag_id, dag.latest_version)
        while dag.next_dagrun_create_after is not None and dag.next_dagrun_create_after <= now:
            if active[dag.dag_id] >= dag.max_active_runs:
                break
            interval = DataInterval(
                dag.next_dagrun_data_interval_start, dag.next_dagrun_data_interval_end
            )  # type: ignore[arg-type]
            logical = dag.next_dagrun
            exists = session.execute(
                select(DagRun.id).where(DagRun.dag_id == dag.dag_id, DagRun.logical_date == logical)
            ).first()
            if not exists:
                create_run(
                    session,
                    sdag,
                    run_id=run_id_for(DagRunType.SCHEDULED, logical),
                    run_type=DagRunType.SCHEDULED,
                    logical_date=logical,
                    data_interval=interval,
                    run_after=dag.next_dagrun_create_after,
                    conf={},
                    now=now,
                    triggered_by="timetable",
                )
                created += 1
                active[dag.dag_id] += 1
            compute_next_dagrun(session, dag, sdag, now, last=interval)
    return created


def start_queued_runs(session: Session, now: datetime) -> int:
    """Move queued runs to running while their DAG (and backfill) has room."""
    queued = (
        session.execute(
            _locked(
                select(DagRun)
                .where(DagRun.state == DagRunState.QUEUED.value)
                .order_by(DagRun.run_after, DagRun.id)
                .limit(500),
                session,
            )
        )
        .scalars()
        .all()
    )
    if not queued:
        return 0
    dag_ids = list({r.dag_id for r in queued})
    running = Counter(
        {
            d: n
            for d, n in session.execute(
                select(DagRun.dag_id, func.count())
                .where(DagRun.dag_id.in_(dag_ids), DagRun.state == DagRunState.RUNNING.value)
                .group_by(DagRun.dag_id)
            ).all()
        }
    )
    limits = {
        d.dag_id: (d.max_active_runs, d.is_paused)
        for d in session.execute(select(DagModel).where(DagModel.dag_id.in_(dag_ids))).scalars()
    }
    backfill_running: Counter[int] = Counter()
    backfills: dict[int, Backfill] = {}
    started = 0
    for run in queued:
        limit, paused = limits.get(run.dag_id, (16, False))
        if run.backfill_id is not None:
            bf = backfills.get(run.backfill_id) or session.get(Backfill, run.backfill_id)
            if bf is None or bf.is_paused:
                continue
            backfills[bf.id] = bf
            if bf.id not in backfill_running:
                backfill_running[bf.id] = session.execute(
                    select(func.count()).where(
                        DagRun.backfill_id == bf.id, DagRun.state == DagRunState.RUNNING.value
                    )
                ).scalar_one()
            if backfill_running[bf.id] >= bf.max_active_runs:
                continue
            backfill_running[bf.id] += 1
        elif paused or running[run.dag_id] >= limit:
            continue  # a paused DAG's runs wait in the queue, as in Airflow
        run.state = DagRunState.RUNNING.value
        run.start_date = run.start_date or now
        run.change_seq = (run.change_seq or 0) + 1
        running[run.dag_id] += 1
        started += 1
    return started


# -- readiness of task instances ----------------------------------------------------------
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


def next_run_creation_time(session: Session) -> datetime | None:
    """When the next scheduled run is due (the scheduler sleeps until then)."""
    return session.execute(
        select(func.min(DagModel.next_dagrun_create_after)).where(
            DagModel.is_paused.is_(False), DagModel.is_active.is_(True)
        )
    ).scalar_one_or_none()


_ = and_
