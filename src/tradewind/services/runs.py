"""DAG runs: create (scheduled, manual, backfill), trigger with validated conf, read."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from tradewind.core.run_ids import DEFAULT_RUN_ID_PATTERN, validate_run_id
from tradewind.core.states import DagRunState, DagRunType
from tradewind.errors import AlreadyExists, InvalidInput, NotFound, ParamValidationError
from tradewind.metastore.tables import DagModel, DagRun, TaskInstance
from tradewind.sdk.serialization import SerializedDag
from tradewind.sdk.timetables import DataInterval, as_utc
from tradewind.services.dag_store import get_serialized_dag
from tradewind.services.deadlines import record_deadlines
from tradewind.services.event_log import log_event

if TYPE_CHECKING:
    pass


def run_id_for(run_type: DagRunType, when: datetime) -> str:
    """Airflow's run id: ``<type>__<ISO time>``."""
    return run_type.generate_run_id(when.isoformat())


def create_run(
    session: Session,
    sdag: SerializedDag,
    *,
    run_id: str,
    run_type: DagRunType,
    logical_date: datetime | None,
    data_interval: DataInterval | None,
    run_after: datetime,
    conf: dict[str, Any] | None,
    now: datetime,
    state: DagRunState = DagRunState.QUEUED,
    backfill_id: int | None = None,
    triggered_by: str | None = None,
    triggering_user: str | None = None,
) -> DagRun:
    """Insert a run and one task instance (no state) per task of the DAG version.

    Every run id, given or generated, must pass the default rule (no path separators).
    """
    validate_run_id(run_id)
    exists = session.execute(
        select(DagRun.id).where(DagRun.dag_id == sdag.dag_id, DagRun.run_id == run_id)
    ).first()
    if exists:
        raise AlreadyExists(f"DAG run {run_id!r} of DAG {sdag.dag_id!r} already exists")
    run = DagRun(
        dag_id=sdag.dag_id,
        run_id=run_id,
        run_type=run_type.value,
        state=state.value,
        logical_date=logical_date,
        data_interval_start=data_interval.start if data_interval else None,
        data_interval_end=data_interval.end if data_interval else None,
        run_after=run_after,
        queued_at=now,
        conf=conf or {},
        dag_version=sdag.version,
        backfill_id=backfill_id,
        triggered_by=triggered_by,
        triggering_user=triggering_user,
        change_seq=1,
        seen_seq=0,
        clear_number=0,
    )
    session.add(run)
    session.flush()
    rows = [
        {
            "dag_id": sdag.dag_id,
            "run_id": run_id,
            "task_id": t.task_id,
            "map_index": -1,
            "state": None,
            "try_number": 0,
            "max_tries": t.retries,
            "pool": t.pool,
            "pool_slots": t.pool_slots,
            "queue": t.queue,
            "priority_weight": t.priority_weight,
            "operator": t.operator,
            "hostname": "",
            "unixname": "",
            "dag_version": sdag.version,
            "updated_at": now,
        }
        for t in sdag.tasks.values()
    ]
    for i in range(0, len(rows), 500):
        session.execute(insert(TaskInstance), rows[i : i + 500])
    record_deadlines(session, sdag, run, now)
    return run


def validate_conf(sdag: SerializedDag, conf: Any) -> dict[str, Any]:
    """Check a run's conf against the DAG's params; return the conf as a dict."""
    if conf is None:
        conf = {}
    if isinstance(conf, str):
        try:
            conf = json.loads(conf) if conf.strip() else {}
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"conf is not valid JSON: {exc}") from None
    if not isinstance(conf, dict):
        raise InvalidInput(f"conf must be a JSON object, got {type(conf).__name__}")
    try:
        sdag.params_dict.resolve(conf)
    except ParamValidationError as exc:
        raise ParamValidationError(f"invalid conf for DAG {sdag.dag_id!r}: {exc}") from None
    return conf


def trigger_run(
    session: Session,
    dag_id: str,
    *,
    now: datetime,
    conf: Any = None,
    run_id: str | None = None,
    logical_date: datetime | None = None,
    logical_date_given: bool = False,
    user: str | None = None,
    triggered_by: str = "cli",
    note: str | None = None,
    run_id_pattern: str = DEFAULT_RUN_ID_PATTERN,
) -> DagRun:
    """Create a manual run of the DAG's latest version (Airflow's "trigger").

    ``logical_date`` None with ``logical_date_given`` means "no logical date" (Airflow 3);
    None without it means "now". A given ``run_id`` must match ``run_id_pattern`` (the
    deployment's ``[scheduler] allowed_run_id_pattern``).
    """
    if run_id is not None:
        validate_run_id(run_id, run_id_pattern)
    dag = session.get(DagModel, dag_id)
    if dag is None:
        raise NotFound(f"DAG {dag_id!r} not found")
    sdag = get_serialized_dag(session, dag_id)
    conf = validate_conf(sdag, conf)
    run_after = now
    if logical_date is not None:
        logical_date = as_utc(logical_date)
    elif not logical_date_given:
        logical_date = now
    interval = sdag.timetable.infer_manual_data_interval(run_after=logical_date or run_after)
    rid = run_id or run_id_for(DagRunType.MANUAL, logical_date or run_after)
    if logical_date is not None:
        clash = session.execute(
            select(DagRun.run_id).where(
                DagRun.dag_id == dag_id, DagRun.logical_date == logical_date
            )
        ).first()
        if clash and run_id is None:
            raise AlreadyExists(
                f"DAG {dag_id!r} already has a run with logical date {logical_date.isoformat()} "
                f"({clash[0]}); give another --logical-date or --run-id"
            )
    run = create_run(
        session,
        sdag,
        run_id=rid,
        run_type=DagRunType.MANUAL,
        logical_date=logical_date,
        data_interval=interval,
        run_after=run_after,
        conf=conf,
        now=now,
        triggered_by=triggered_by,
        triggering_user=user,
    )
    run.note = note
    log_event(
        session, "trigger", now=now, owner=user, dag_id=dag_id, run_id=rid, extra={"conf": conf}
    )
    return run


def get_run(session: Session, dag_id: str, run_id: str) -> DagRun:
    run = session.execute(
        select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
    ).scalar_one_or_none()
    if run is None:
        raise NotFound(f"DAG run {run_id!r} of DAG {dag_id!r} not found")
    return run


def find_run_by_logical_date(session: Session, dag_id: str, when: datetime) -> DagRun | None:
    """The run of ``dag_id`` whose logical date is ``when`` (the newest if several), or None."""
    return (
        session.execute(
            select(DagRun)
            .where(DagRun.dag_id == dag_id, DagRun.logical_date == when)
            .order_by(DagRun.id.desc())
        )
        .scalars()
        .first()
    )


def list_runs(
    session: Session,
    dag_id: str | None = None,
    *,
    state: str | None = None,
    limit: int = 100,
    offset: int = 0,
    newest_first: bool = True,
) -> list[DagRun]:
    q = select(DagRun)
    if dag_id is not None:
        q = q.where(DagRun.dag_id == dag_id)
    if state:
        q = q.where(DagRun.state == state)
    order = DagRun.id.desc() if newest_first else DagRun.id.asc()
    return list(session.execute(q.order_by(order).limit(limit).offset(offset)).scalars())


def count_runs(session: Session, dag_id: str | None = None, state: str | None = None) -> int:
    q = select(func.count(DagRun.id))
    if dag_id is not None:
        q = q.where(DagRun.dag_id == dag_id)
    if state:
        q = q.where(DagRun.state == state)
    return int(session.execute(q).scalar_one())


def task_states(session: Session, dag_id: str, run_id: str) -> list[TaskInstance]:
    """Every task instance of a run, in task id order."""
    get_run(session, dag_id, run_id)
    return list(
        session.execute(
            select(TaskInstance)
            .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
            .order_by(TaskInstance.task_id, TaskInstance.map_index)
        ).scalars()
    )
