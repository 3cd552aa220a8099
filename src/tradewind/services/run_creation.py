"""Creating DAG runs from timetables and starting queued runs (the scheduler's side)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from tradewind.core.states import DagRunState, DagRunType
from tradewind.metastore.tables import Backfill, DagModel, DagRun
from tradewind.sdk.serialization import SerializedDag
from tradewind.sdk.timetables import DataInterval, TimeRestriction
from tradewind.services import telemetry
from tradewind.services.runs import create_run, run_id_for
from tradewind.services.scheduling import ACTIVE_RUN_STATES, DagCache, _locked
from tradewind.services.ti_state import run_update


def _last_automated(session: Session, dag_id: str) -> DataInterval | None:
    row = session.execute(
        select(DagRun.data_interval_start, DagRun.data_interval_end)
        .where(DagRun.dag_id == dag_id, DagRun.run_type == DagRunType.SCHEDULED.value)
        .order_by(DagRun.logical_date.desc())
        .limit(1)
    ).first()
    if row is None or row[0] is None:
        return None
    return DataInterval(row[0], row[1])  # type: ignore[arg-type]


def _next_info(
    session: Session,
    dag_id: str,
    sdag: SerializedDag,
    now: datetime,
    last: DataInterval | None = None,
) -> Any:
    """The timetable's next run (``DagRunInfo``) after the last scheduled one, or None."""
    tt = sdag.timetable
    if not tt.can_be_scheduled:
        return None
    restriction = TimeRestriction(
        earliest=datetime.fromisoformat(sdag.start_date) if sdag.start_date else None,
        latest=datetime.fromisoformat(sdag.end_date) if sdag.end_date else None,
        catchup=bool(sdag.catchup),
    )
    last = last if last is not None else _last_automated(session, dag_id)
    if not (tt.periodic or last is None):
        return None
    return tt.next_dagrun_info(last_automated_data_interval=last, restriction=restriction, now=now)


def compute_next_dagrun(
    session: Session,
    dag: DagModel,
    sdag: SerializedDag,
    now: datetime,
    last: DataInterval | None = None,
) -> None:
    """Set ``dag.next_dagrun*`` from the timetable and the last scheduled run."""
    info = _next_info(session, dag.dag_id, sdag, now, last)
    if info is None:
        dag.next_dagrun = dag.next_dagrun_create_after = None
        dag.next_dagrun_data_interval_start = dag.next_dagrun_data_interval_end = None
    else:
        dag.next_dagrun = info.logical_date
        dag.next_dagrun_data_interval_start = info.data_interval.start
        dag.next_dagrun_data_interval_end = info.data_interval.end
        dag.next_dagrun_create_after = info.run_after
    dag.timetable_checked_version = dag.latest_version


def next_run_of(
    session: Session, dag: DagModel, sdag: SerializedDag, now: datetime
) -> dict[str, Any] | None:
    """A DAG's next scheduled run: run-after time, logical date, interval and timezone.

    The scheduler's stored values when they are current; otherwise (a paused DAG, a new
    version not yet seen) computed from the timetable without writing anything.
    """
    current = dag.timetable_checked_version == dag.latest_version and not dag.is_paused
    if current:
        if dag.next_dagrun_create_after is None:
            return None
        values = (
            dag.next_dagrun_create_after,
            dag.next_dagrun,
            dag.next_dagrun_data_interval_start,
            dag.next_dagrun_data_interval_end,
        )
    else:
        info = _next_info(session, dag.dag_id, sdag, now)
        if info is None:
            return None
        values = (
            info.run_after,
            info.logical_date,
            info.data_interval.start,
            info.data_interval.end,
        )
    timezone = str(sdag.timetable.serialize().get("timezone") or "UTC")
    try:
        run_after = values[0].astimezone(ZoneInfo(timezone))
    except (ValueError, ZoneInfoNotFoundError):  # a fixed offset such as "+01:00"
        run_after = values[0]
    return {
        "run_after": run_after,
        "logical_date": values[1],
        "data_interval_start": values[2],
        "data_interval_end": values[3],
        "timezone": timezone,
    }


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
            )
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


_START_RUN = run_update(
    DagRunState.QUEUED, DagRunState.RUNNING, DagRun.id == bindparam("b_id")
).values(start_date=bindparam("b_start"), change_seq=DagRun.change_seq + 1)


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
        start = run.start_date or now
        if not session.execute(_START_RUN, {"b_id": run.id, "b_start": start}).rowcount:  # type: ignore[attr-defined]
            continue  # someone else started or ended it meanwhile
        # The loaded object says what the row now says (no second query, nothing to flush).
        set_committed_value(run, "state", DagRunState.RUNNING.value)
        set_committed_value(run, "start_date", start)
        set_committed_value(run, "change_seq", (run.change_seq or 0) + 1)
        telemetry.run_started(run, now)
        running[run.dag_id] += 1
        started += 1
    return started


# -- readiness of task instances ----------------------------------------------------------
def next_run_creation_time(session: Session) -> datetime | None:
    """When the next scheduled run is due (the scheduler sleeps until then)."""
    return session.execute(
        select(func.min(DagModel.next_dagrun_create_after)).where(
            DagModel.is_paused.is_(False), DagModel.is_active.is_(True)
        )
    ).scalar_one_or_none()
