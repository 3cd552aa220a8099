"""The scheduler's use cases on the metastore: decide which task instances of running runs
are ready, finish runs, promote retries. Creating and starting runs is in ``run_creation``. Pure
decisions live in ``core`` (with the planner, ``core.planning``); this module does the reading and
compare-and-set writing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ARRAY, BigInteger, Table, and_, any_, bindparam, func, select, update
from sqlalchemy.orm import Session

from tradewind.core.states import FINISHED_STATES, DagRunState
from tradewind.core.states import TaskInstanceState as TI
from tradewind.core.trigger_rules import Decision, UpstreamStates, evaluate
from tradewind.metastore.tables import Backfill, DagRun, TaskInstance
from tradewind.sdk.serialization import SerializedDag
from tradewind.services import mapping, mapping_groups, telemetry
from tradewind.services.dag_store import get_serialized_dag
from tradewind.services.ti_state import run_columns, run_update, ti_update

# Table objects: hot paths use Core statements, which cost a fraction of ORM ones.
TIT = cast(Table, TaskInstance.__table__)
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
    #: Task instances this pass scheduled from the states it read (queueing in the same
    #: transaction need not check their trigger rule again).
    scheduled: set[int] = field(default_factory=set)


class DagCache:
    """Serialized DAGs by (dag_id, version); the scheduler never imports user code."""

    def __init__(self, max_map_length: int = 1024) -> None:
        self._items: dict[tuple[str, str | None], SerializedDag] = {}
        self.max_map_length = max_map_length  # [core] max_map_length, for expansions

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


def _can_skip_locked(session: Session) -> bool:
    """Whether the database has FOR UPDATE SKIP LOCKED (PostgreSQL, MySQL 8)."""
    return session.get_bind().dialect.name in ("postgresql", "mysql")


def _locked(q: Any, session: Session) -> Any:
    """Add FOR UPDATE SKIP LOCKED where the database has it (PostgreSQL, MySQL 8)."""
    if _can_skip_locked(session):
        return q.with_for_update(skip_locked=True)
    return q


# -- prebuilt statements ------------------------------------------------------------------
# Built once: constructing a statement costs several times more CPU than executing a cached
# one, and the readiness pass runs after every finished task.
DRT = cast(Table, DagRun.__table__)
DRc = DRT.c
_NOW = bindparam("now", type_=TIc.updated_at.type)
_IDS: Any = bindparam("ids", expanding=True)


class ListStatement:
    """A prebuilt statement with one list parameter, in two forms: ``col IN (...)`` (the list
    expanded on each call) and, for PostgreSQL, ``col = ANY(:array)``: one parameter, so the
    SQL text never changes and the driver keeps its parse cached (it does not for IN lists
    longer than 50).

    Args:
        build: makes the statement from a function that turns a column into the condition.
        name: the parameter's name.
        item_type: the SQL type of the list's items.
    """

    def __init__(self, build: Callable[[Callable[[Any], Any]], Any], name: str, item_type: Any):
        expanding: Any = bindparam(name, expanding=True)
        array = bindparam(name, type_=ARRAY(item_type))
        self.default = build(lambda col: col.in_(expanding))
        self.postgresql = build(lambda col: col == any_(array))

    def on(self, session: Session) -> Any:
        """The form for the session's database."""
        if session.get_bind().dialect.name == "postgresql":
            return self.postgresql
        return self.default


_DIRTY_RUNS = (
    select(
        DRc.id,
        DRc.dag_id,
        DRc.run_id,
        DRc.change_seq,
        DRc.dag_version,
        DRc.logical_date,
        DRc.start_date,
        DRc.backfill_id,
    )
    .where(DRc.state == DagRunState.RUNNING.value, DRc.change_seq > DRc.seen_seq)
    .limit(1000)
)
_DIRTY_RUNS_LOCKED = _DIRTY_RUNS.with_for_update(skip_locked=True)
# Every task instance of the given runs (by dag_run.id): the whole pass decides from these.
_RUN_TIS = ListStatement(
    lambda in_list: (
        select(DRc.id.label("run_pk"), TIc.id.label("ti_id"), TIc.task_id, TIc.state)
        .join_from(TIT, DRT, and_(DRc.dag_id == TIc.dag_id, DRc.run_id == TIc.run_id))
        .where(in_list(DRc.id))
    ),
    "run_pks",
    BigInteger,
)
_TO_SCHEDULED = ListStatement(
    lambda in_list: ti_update(None, TI.SCHEDULED, in_list(TIc.id)).values(
        try_number=TIc.try_number + 1,
        scheduled_dttm=_NOW,
        updated_at=_NOW,
        next_retry_at=None,
    ),
    "ids",
    BigInteger,
)
_TO_ENDED = ListStatement(  # skipped / upstream_failed: finished without running
    lambda in_list: ti_update(None, (TI.SKIPPED, TI.UPSTREAM_FAILED), in_list(TIc.id)).values(
        start_date=_NOW,
        end_date=_NOW,
        duration=0.0,
        updated_at=_NOW,
    ),
    "ids",
    BigInteger,
)
_TO_REMOVED = ListStatement(
    lambda in_list: ti_update(None, TI.REMOVED, in_list(TIc.id), updated_at=_NOW),
    "ids",
    BigInteger,
)
# seen_seq = change_seq is what was read: the runs are locked (FOR UPDATE on PostgreSQL,
# the write transaction's lock on SQLite), so no one bumped change_seq since.
_SEEN = ListStatement(
    lambda in_list: run_columns(in_list(DRc.id)).values(
        seen_seq=DRc.change_seq, last_scheduling_decision=_NOW
    ),
    "ids",
    BigInteger,
)
_END = run_update(
    DagRunState.RUNNING,
    (DagRunState.SUCCESS, DagRunState.FAILED),
    DRc.id == bindparam("b_id"),
    end_date=_NOW,
)
_IN_RUN = and_(TIc.dag_id == bindparam("b_dag_id"), TIc.run_id == bindparam("b_run_id"))
_STOP_WAITING = ti_update(  # fail_fast, dagrun_timeout: what has not started is skipped ...
    (None, TI.SCHEDULED, TI.UP_FOR_RETRY, TI.UP_FOR_RESCHEDULE),
    TI.SKIPPED,
    _IN_RUN,
    end_date=_NOW,
    updated_at=_NOW,
)
_STOP_STARTED = ti_update(  # ... and what has started fails
    (TI.QUEUED, TI.RUNNING, TI.DEFERRED), TI.FAILED, _IN_RUN, end_date=_NOW, updated_at=_NOW
)
_PREV_RUN = (
    select(DRc.run_id)
    .where(DRc.dag_id == bindparam("dag_id"), DRc.logical_date < bindparam("before"))
    .order_by(DRc.logical_date.desc())
    .limit(1)
)
_TASK_STATES = select(TIc.state).where(
    _IN_RUN, TIc.task_id.in_(bindparam("task_ids", expanding=True))
)
_BACKFILL_LEFT = select(func.count()).where(
    DRc.backfill_id == bindparam("b_backfill"), DRc.state.in_(ACTIVE_RUN_STATES)
)
_BFT = cast(Table, Backfill.__table__)
_BACKFILL_DONE = (
    update(_BFT)
    .where(_BFT.c.id == bindparam("b_backfill"))
    .values(completed_at=_NOW, updated_at=_NOW)
)
_CHUNK = 500


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


# -- readiness of task instances ----------------------------------------------------------
@dataclass
class _End:
    """A run that ends in this pass."""

    run: Any
    sdag: SerializedDag
    state: DagRunState
    reason: str
    stop_rest: bool = False


@dataclass
class _Decisions:
    """What one pass decided, gathered across runs so each kind is one UPDATE."""

    scheduled: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    upstream_failed: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    expanded: int = 0  # task instances mapped tasks' expansion wrote itself
    max_map_length: int = 1024


def _past_ok(session: Session, run: Any, task: Any, cache: dict[str, bool]) -> bool:
    """depends_on_past / wait_for_downstream: the same task (and its downstream) in the
    previous run must have succeeded or been skipped."""
    if run.logical_date is None:
        return True
    if task.task_id in cache:
        return cache[task.task_id]
    prev = session.execute(
        _PREV_RUN, {"dag_id": run.dag_id, "before": run.logical_date}
    ).scalar_one_or_none()
    ok = True
    if prev is not None:
        ids = [task.task_id] + (list(task.downstream_task_ids) if task.wait_for_downstream else [])
        states = session.execute(
            _TASK_STATES, {"b_dag_id": run.dag_id, "b_run_id": prev, "task_ids": ids}
        ).scalars()
        ok = all(s in (TI.SUCCESS.value, TI.SKIPPED.value) for s in states)
    cache[task.task_id] = ok
    return ok


def _decide(
    session: Session,
    run: Any,
    sdag: SerializedDag,
    tis: list[tuple[int, str, str | None]],
    out: _Decisions,
    now: datetime,
) -> None:
    """Decide the waiting task instances of one run (topological order lets skips and
    upstream failures cascade in one pass); record the decisions in ``out``."""
    # Every instance of a task counts (a mapped task has one per map index).
    states: dict[str, list[str | None]] = {}
    waiting: dict[str, list[int]] = {}
    for ti_id, tid, st in tis:
        states.setdefault(tid, []).append(st)
        if st is None:
            waiting.setdefault(tid, []).append(ti_id)
    if not waiting:
        return
    for tid in [t for t in waiting if t not in sdag.tasks]:
        out.removed.extend(waiting.pop(tid))  # gone from this DAG version
        states[tid] = [TI.REMOVED.value]
    past_cache: dict[str, bool] = {}
    for tid in sdag.topological_order():
        ids = waiting.get(tid)
        if ids is None:
            continue
        task = sdag.tasks[tid]
        if task.data.get("mapped_group"):  # per map index (services/mapping_groups.py)
            mapping_groups.decide(session, run, sdag, task, states, out, now)
            continue
        ups = UpstreamStates.from_states(
            st for u in task.upstream_task_ids for st in states.get(u, [None])
        )
        decision = evaluate(
            task.trigger_rule, ups, setup_states(sdag, task, lambda u: _last(states.get(u)))
        )
        if decision is Decision.WAIT:
            continue
        if decision is Decision.RUN:
            if task.depends_on_past and not _past_ok(session, run, task, past_cache):
                continue
            if task.is_mapped:
                expansion = mapping.expand(session, run, sdag, task, now, out.max_map_length)
                if expansion is None:
                    continue
                out.scheduled.extend(expansion.schedule)
                out.expanded += expansion.moved + expansion.inserted
                states[tid] = expansion.states
                continue
            out.scheduled.extend(ids)
            new_state = TI.SCHEDULED.value
        elif decision is Decision.SKIP:
            out.skipped.extend(ids)
            new_state = TI.SKIPPED.value
        else:
            out.upstream_failed.extend(ids)
            new_state = TI.UPSTREAM_FAILED.value
        states[tid] = [new_state if st is None else st for st in states[tid]]


def _apply(session: Session, out: _Decisions, now: datetime) -> tuple[int, dict[int, str], bool]:
    """Write the decisions (compare-and-set from no state); return how many moved, the new
    state of each, and whether every write found its task instance still waiting."""
    moved = 0
    expected = 0
    new: dict[int, str] = {}
    writes = [
        (_TO_REMOVED, out.removed, TI.REMOVED.value),
        (_TO_ENDED, out.skipped, TI.SKIPPED.value),
        (_TO_ENDED, out.upstream_failed, TI.UPSTREAM_FAILED.value),
        (_TO_SCHEDULED, out.scheduled, TI.SCHEDULED.value),
    ]
    for stmt, ids, state in writes:
        for chunk in _chunks(ids):
            params = {"ids": chunk, "now": now, "new_state": state}
            if stmt is not _TO_ENDED:
                del params["new_state"]
            moved += session.execute(stmt.on(session), params).rowcount  # type: ignore[attr-defined]
            expected += len(chunk)
        new.update(dict.fromkeys(ids, state))
    return moved, new, moved == expected


# -- ends of runs ---------------------------------------------------------------------------
def _finish_state(
    run: Any, sdag: SerializedDag, tis: list[tuple[int, str, str | None]], now: datetime
) -> _End | None:
    """How the run ends given its task instances' states, or None if not yet.

    fail_fast and dagrun_timeout end it early (what is left is stopped); otherwise it fails
    when a leaf task failed.
    """
    states = {st for _, _, st in tis}
    if sdag.fail_fast and TI.FAILED.value in states:
        return _End(run, sdag, DagRunState.FAILED, "task_failure", stop_rest=True)
    if not states <= _FINISHED:
        if (
            sdag.dagrun_timeout
            and run.start_date
            and (now - run.start_date).total_seconds() > sdag.dagrun_timeout
        ):
            return _End(run, sdag, DagRunState.FAILED, "timed_out", stop_rest=True)
        return None
    leaves = effective_leaves(sdag)
    failed = any(
        st in (TI.FAILED.value, TI.UPSTREAM_FAILED.value) for _, tid, st in tis if tid in leaves
    )
    if failed:
        return _End(run, sdag, DagRunState.FAILED, "task_failure")
    return _End(run, sdag, DagRunState.SUCCESS, "success")


def _last(states: list[str | None] | None) -> str | None:
    """One state for a task (its last instance's), where a single one is asked for."""
    return states[-1] if states else None


def setup_states(
    sdag: SerializedDag, task: Any, state_of: Callable[[str], str | None]
) -> UpstreamStates | None:
    """The states of a teardown's upstream setups (None for other trigger rules)."""
    if task.trigger_rule != "all_done_setup_success":
        return None
    return UpstreamStates.from_states(
        state_of(u)
        for u in task.upstream_task_ids
        if u in sdag.tasks and sdag.tasks[u].data.get("is_setup")
    )


def effective_leaves(sdag: SerializedDag) -> set[str]:
    """The tasks whose states decide the run's: leaves, where a teardown (unless it says
    ``on_failure_fail_dagrun``) does not count and its upstreams stand in (Airflow's rule)."""
    tasks = sdag.tasks

    def ignorable(tid: str) -> bool:
        data = tasks[tid].data
        return bool(data.get("is_teardown")) and not data.get("on_failure_fail_dagrun")

    leaves = {
        tid
        for tid, t in tasks.items()
        if not ignorable(tid) and all(ignorable(d) for d in t.downstream_task_ids if d in tasks)
    }
    return leaves or {tid for tid, t in tasks.items() if not t.downstream_task_ids}


def _end_runs(session: Session, ended: list[_End], now: datetime) -> list[RunOutcome]:
    """Stop what is left of runs ended early, record the ends, complete their backfills."""
    for e in ended:
        if e.stop_rest:
            params = {"b_dag_id": e.run.dag_id, "b_run_id": e.run.run_id, "now": now}
            session.execute(_STOP_WAITING, params)
            session.execute(_STOP_STARTED, params)
    session.execute(
        _END, [{"b_id": e.run.id, "new_state": e.state.value, "now": now} for e in ended]
    )
    telemetry.runs_ended(ended, now)
    # After the ends are written, so runs of one backfill ending together all count as ended.
    for backfill_id in sorted({e.run.backfill_id for e in ended if e.run.backfill_id is not None}):
        if not session.execute(_BACKFILL_LEFT, {"b_backfill": backfill_id}).scalar_one():
            session.execute(_BACKFILL_DONE, {"b_backfill": backfill_id, "now": now})
    return [
        RunOutcome(
            e.run.dag_id, e.run.run_id, e.state.value, e.sdag.fileloc, e.run.dag_version, e.reason
        )
        for e in ended
    ]


def _load_tis(session: Session, run_pks: list[int]) -> dict[int, list[tuple[int, str, str | None]]]:
    """(ti id, task id, state) of every task instance of the given runs, by run."""
    tis: dict[int, list[tuple[int, str, str | None]]] = {pk: [] for pk in run_pks}
    for chunk in _chunks(run_pks):
        rows = session.execute(_RUN_TIS.on(session), {"run_pks": chunk})
        for run_pk, ti_id, task_id, state in rows:
            tis[run_pk].append((ti_id, task_id, state))
    return tis


def evaluate_dirty_runs(
    session: Session,
    cache: DagCache,
    now: datetime,
    only_run_ids: set[tuple[str, str]] | None = None,
) -> PassResult:
    """Re-examine every running run something happened in since the last look.

    A fixed number of statements whatever the number of runs: one read of the runs (locked
    on PostgreSQL, so two schedulers never decide the same run), one of their task
    instances, one compare-and-set UPDATE per kind of decision, one to record what was seen.
    """
    result = PassResult()
    stmt = _DIRTY_RUNS_LOCKED if _can_skip_locked(session) else _DIRTY_RUNS
    runs = session.execute(stmt).all()
    if only_run_ids is not None:
        runs = [r for r in runs if (r.dag_id, r.run_id) in only_run_ids]
    if not runs:
        return result
    sdags = {r.id: cache.get(session, r.dag_id, r.dag_version) for r in runs}
    from tradewind.services.run_progress import quiet_runs  # it builds on this module

    quiet = quiet_runs(session, runs, sdags, now)
    busy = [r for r in runs if r.id not in quiet]
    tis = _load_tis(session, [r.id for r in busy])
    out = _Decisions(max_map_length=cache.max_map_length)
    for run in busy:
        _decide(session, run, sdags[run.id], tis[run.id], out, now)
    moved, new, as_expected = _apply(session, out, now)
    result.tis_changed = moved + out.expanded
    if as_expected:
        result.scheduled = set(out.scheduled)
    if as_expected and not out.expanded:
        tis = {pk: [(i, t, new.get(i, st)) for i, t, st in rows] for pk, rows in tis.items()}
    else:  # someone else moved a task instance meanwhile: decide run ends from the database
        tis = _load_tis(session, [r.id for r in busy])
    ended = [e for r in busy if (e := _finish_state(r, sdags[r.id], tis[r.id], now))]
    for chunk in _chunks([r.id for r in runs]):
        session.execute(_SEEN.on(session), {"ids": chunk, "now": now})
    if ended:
        result.finished_runs = _end_runs(session, ended, now)
    return result


# -- retries ------------------------------------------------------------------------------
_DUE_RETRIES = select(TIc.id, TIc.state, TIc.dag_id, TIc.run_id).where(
    TIc.state.in_([TI.UP_FOR_RETRY.value, TI.UP_FOR_RESCHEDULE.value]),
    TIc.next_retry_at <= _NOW,
)
_DUE_RETRIES_LOCKED = _DUE_RETRIES.with_for_update(skip_locked=True)
_PROMOTE = {
    old: ti_update(old, TI.SCHEDULED, TIc.id.in_(_IDS)).values(
        try_number=TIc.try_number + bindparam("bump"), scheduled_dttm=_NOW, updated_at=_NOW
    )
    for old in (TI.UP_FOR_RETRY.value, TI.UP_FOR_RESCHEDULE.value)
}
_NEXT_RETRY = select(func.min(TIc.next_retry_at)).where(
    TIc.state.in_([TI.UP_FOR_RETRY.value, TI.UP_FOR_RESCHEDULE.value]),
    TIc.next_retry_at > _NOW,
)


def promote_due_retries(session: Session, now: datetime) -> tuple[int, datetime | None]:
    """up_for_retry / up_for_reschedule whose time came -> scheduled; return the next due time.

    A retry is a new try (try_number + 1); a reschedule continues the same one.
    """
    stmt = _DUE_RETRIES_LOCKED if _can_skip_locked(session) else _DUE_RETRIES
    due = session.execute(stmt, {"now": now}).all()
    moved = 0
    for old, bump in ((TI.UP_FOR_RETRY.value, 1), (TI.UP_FOR_RESCHEDULE.value, 0)):
        ids = [r.id for r in due if r.state == old]
        for chunk in _chunks(ids):
            params = {"ids": chunk, "bump": bump, "now": now}
            moved += session.execute(_PROMOTE[old], params).rowcount  # type: ignore[attr-defined]
    if due:
        from tradewind.services.ti_state import touch_runs

        touch_runs(session, {(r.dag_id, r.run_id) for r in due})
    return moved, session.execute(_NEXT_RETRY, {"now": now}).scalar_one_or_none()
