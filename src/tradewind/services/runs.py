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
from tradewind.services.env import Env
from tradewind.services.event_log import log_event

if TYPE_CHECKING:
    from tradewind.services.listings import Labels, Listed


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


class RunService:
    """The DAG runs' use cases, bound to the environment: the CLI and the UI call these; each
    call is one transaction, and a new run wakes the schedulers."""

    def __init__(self, env: Env):
        self.env = env

    def trigger(
        self,
        dag_id: str,
        *,
        conf: Any = None,
        run_id: str | None = None,
        logical_date: datetime | None = None,
        user: str | None = None,
        triggered_by: str = "cli",
        note: str | None = None,
    ) -> tuple[DagRun, bool]:
        """Create a manual run of the DAG's latest version (run ids checked against
        ``[scheduler] allowed_run_id_pattern``); return it and whether the DAG is paused."""
        with self.env.db.session() as session:
            run = trigger_run(
                session, dag_id, now=self.env.now(), conf=conf, run_id=run_id,
                logical_date=logical_date, user=user, triggered_by=triggered_by, note=note,
                run_id_pattern=self.env.settings.get("scheduler", "allowed_run_id_pattern"),
            )  # fmt: skip
            paused = bool(session.get(DagModel, dag_id).is_paused)  # type: ignore[union-attr]
        self.env.wake()
        return run, paused

    def of_dag(self, dag_id: str, *, state: str | None = None, limit: int = 100) -> list[DagRun]:
        """The runs of a DAG, newest first; raise NotFound for an unknown DAG."""
        from tradewind.services.dags import get_dag

        with self.env.db.session(readonly=True) as session:
            get_dag(session, dag_id)
            return list_runs(session, dag_id, state=state, limit=limit)

    def get(self, dag_id: str, run_id: str) -> DagRun:
        """One run; raise NotFound."""
        with self.env.db.session(readonly=True) as session:
            return get_run(session, dag_id, run_id)

    def outcome(
        self, dag_id: str, run_id: str, task_ids: list[str]
    ) -> tuple[str, dict[str, Any] | None]:
        """A run's state and, once it ended (success or failed), the ``return_value`` XCom
        of each of ``task_ids`` (None before, or without task ids); raise NotFound."""
        from tradewind.services.xcom import get_xcom

        with self.env.db.session(readonly=True) as session:
            state = str(get_run(session, dag_id, run_id).state)
            if state not in ("success", "failed") or not task_ids:
                return state, None
            return state, {
                task_id: get_xcom(
                    session, dag_id=dag_id, run_id=run_id, task_id=task_id, key="return_value"
                )[1]
                for task_id in task_ids
            }

    def find(self, dag_id: str, run_id: str, logical_date: datetime | None) -> DagRun | None:
        """The run ``run_id``, else the newest run at ``logical_date``, else None."""
        with self.env.db.session(readonly=True) as session:
            try:
                return get_run(session, dag_id, run_id)
            except NotFound:
                pass
            if logical_date is None:
                return None
            return find_run_by_logical_date(session, dag_id, logical_date)

    def browse(
        self, *, limit: int, offset: int, dag_id: str = "", state: str = ""
    ) -> tuple[list[DagRun], bool]:
        """Runs newest first, filtered by DAG and state; whether more follow (no COUNT)."""
        from tradewind.services.ui_queries import browse_runs

        with self.env.db.session(readonly=True) as session:
            return browse_runs(session, dag_id=dag_id, state=state, limit=limit, offset=offset)

    def calendar(self, dag_id: str, since: datetime) -> dict[Any, dict[str, int]]:
        """Per day since ``since``: how many runs of the DAG ended in each state."""
        from tradewind.services.queries.dag_views import run_calendar

        with self.env.db.session(readonly=True) as session:
            return run_calendar(session, dag_id, since)

    def grid(self, dag_id: str, *, limit: int, before_id: int | None = None) -> Any:
        """The grid's runs (``limit``, before ``before_id``) and their task instances' states."""
        from tradewind.services.ui_queries import grid

        with self.env.db.session(readonly=True) as session:
            return grid(session, dag_id, limit=limit, before_id=before_id)

    def live_states(self, dag_id: str, run_ids: list[str]) -> dict[str, Any]:
        """States of some runs and of their task instances (the pages' live refresh)."""
        from tradewind.services.ui_queries import run_states

        with self.env.db.session(readonly=True) as session:
            return run_states(session, dag_id, run_ids)

    def view(
        self, dag_id: str, run_id: str = "", *, recent: int = 0
    ) -> tuple[DagRun | None, list[TaskInstance], list[DagRun]]:
        """The run ``run_id`` (raise NotFound), or the DAG's newest run, or None; its task
        instances by start time; and the ``recent`` newest runs, oldest first."""
        from tradewind.services.ui_queries import grid, run_tis

        with self.env.db.session(readonly=True) as session:
            if run_id:
                run: DagRun | None = get_run(session, dag_id, run_id)
            else:
                newest = grid(session, dag_id, limit=1).runs
                run = newest[-1] if newest else None
            tis = run_tis(session, dag_id, run.run_id) if run is not None else []
            runs = grid(session, dag_id, limit=recent).runs if recent else []
            return run, tis, runs

    def task_durations(self, dag_id: str) -> tuple[list[DagRun], list[tuple[str, str, float]]]:
        """The newest runs of a DAG (oldest first) and each task instance's duration in them."""
        from tradewind.services.ui_queries import task_durations

        with self.env.db.session(readonly=True) as session:
            return task_durations(session, dag_id)

    def page(self, where: list[Any], paging: Any, *, dag_id: str | None = None) -> Listed[DagRun]:
        """One page (``queries.Paging``) of the runs matching ``where``, with their labels
        (``listings.Listed``); with ``dag_id``, raise NotFound for an unknown DAG first."""
        from tradewind.services import queries as q
        from tradewind.services.dags import get_dag
        from tradewind.services.listings import Listed, labels_of

        with self.env.db.session(readonly=True) as session:
            if dag_id is not None:
                get_dag(session, dag_id)
            found = q.list_runs(session, where, paging)
            return Listed(found.items, found.total, labels_of(session, found.items))

    def page_after(
        self, where: list[Any], order_by: Any, limit: int, cursor: str, *, dag_id: str | None
    ) -> Listed[DagRun]:
        """As :meth:`page`, by keyset: the ``limit`` runs after ``cursor`` ("" first)."""
        from tradewind.services import queries as q
        from tradewind.services.dags import get_dag
        from tradewind.services.listings import Listed, labels_of

        with self.env.db.session(readonly=True) as session:
            if dag_id is not None:
                get_dag(session, dag_id)
            found = q.list_runs_after(session, where, order_by, limit, cursor)
            labels = labels_of(session, found.items)
            return Listed(
                found.items, found.total, labels, found.next_cursor, found.previous_cursor
            )

    def stats(self, dag_ids: Any = None) -> list[tuple[str, str, dict[str, int]]]:
        """``(dag_id, display name, state -> number of runs)`` per DAG with runs (or per DAG
        of ``dag_ids``), by dag_id."""
        from tradewind.services.queries import dag_run_stats

        with self.env.db.session(readonly=True) as session:
            return dag_run_stats(session, dag_ids)

    def shown(self, dag_id: str, run_id: str) -> tuple[DagRun, Labels]:
        """One run and its labels (``listings.Labels``); raise NotFound (Airflow's message)."""
        from tradewind.services.listings import labels_of
        from tradewind.services.queries import get_dag_run

        with self.env.db.session(readonly=True) as session:
            run = get_dag_run(session, dag_id, run_id)
            return run, labels_of(session, [run])

    def create(
        self,
        dag_id: str,
        *,
        conf: Any = None,
        run_id: str | None = None,
        logical_date: datetime | None = None,
        note: str | None = None,
        user: str | None = None,
    ) -> tuple[DagRun, Labels]:
        """Trigger a manual run as the REST API does (``logical_date`` None: a run without a
        logical date), and wake the schedulers; return it and its labels."""
        from tradewind.services.listings import labels_of

        with self.env.db.session() as session:
            run = trigger_run(
                session, dag_id, now=self.env.now(), conf=conf, run_id=run_id,
                logical_date=logical_date, logical_date_given=True, user=user,
                triggered_by="rest_api", note=note,
                run_id_pattern=self.env.settings.get("scheduler", "allowed_run_id_pattern"),
            )  # fmt: skip
            session.flush()
            shown = run, labels_of(session, [run])
        self.env.wake()
        return shown

    def change(
        self,
        dag_id: str,
        run_id: str,
        *,
        state: str | None = None,
        note: Any = None,
        set_note: bool = False,
        user: str | None = None,
    ) -> tuple[DagRun, Labels]:
        """Mark a run (``state``: queued, success, failed) and/or, with ``set_note``, set its
        note; wake the schedulers; return it and its labels. Raise NotFound."""
        from tradewind.services.edits import set_run_note
        from tradewind.services.listings import labels_of
        from tradewind.services.queries import get_dag_run
        from tradewind.services.task_instances import set_run_state

        now = self.env.now()
        with self.env.db.session() as session:
            run = get_dag_run(session, dag_id, run_id)
            if state is not None:
                run = set_run_state(session, dag_id, run_id, state, now=now, user=user)
            if set_note:
                run = set_run_note(session, dag_id, run_id, note, now=now, user=user)
            session.flush()
            session.refresh(run)
            shown = run, labels_of(session, [run])
        self.env.wake()
        return shown

    def clear_preview(
        self, dag_id: str, run_id: str, *, only_failed: bool = False
    ) -> tuple[list[tuple[TaskInstance, DagRun]], Labels]:
        """The ``(ti, run)`` rows clearing the run would reset, and their labels; raise
        NotFound."""
        from tradewind.services.listings import ti_labels
        from tradewind.services.queries import get_dag_run
        from tradewind.services.task_instances import clear_task_instances

        with self.env.db.session(readonly=True) as session:
            run = get_dag_run(session, dag_id, run_id)
            found = clear_task_instances(
                session, dag_id, now=self.env.now(), run_id=run_id, only_failed=only_failed,
                dry_run=True,
            )  # fmt: skip
            rows = [(ti, run) for ti in found]
            return rows, ti_labels(session, rows)

    def clear(
        self,
        dag_id: str,
        run_id: str,
        *,
        only_failed: bool = False,
        note: str | None = None,
        user: str | None = None,
    ) -> tuple[DagRun, Labels]:
        """Clear a run's task instances (all, or the failed ones) so they run again, set its
        note when given, and wake the schedulers; return the run and its labels."""
        from tradewind.services.edits import set_run_note
        from tradewind.services.listings import labels_of
        from tradewind.services.queries import get_dag_run
        from tradewind.services.task_instances import clear_task_instances

        now = self.env.now()
        with self.env.db.session() as session:
            get_dag_run(session, dag_id, run_id)
            clear_task_instances(
                session, dag_id, now=now, run_id=run_id, only_failed=only_failed, user=user
            )
            if note is not None:
                set_run_note(session, dag_id, run_id, note, now=now, user=user)
            session.flush()
            run = get_dag_run(session, dag_id, run_id)
            session.refresh(run)
            shown = run, labels_of(session, [run])
        self.env.wake()
        return shown

    def delete(self, dag_id: str, run_id: str, *, user: str | None = None) -> None:
        """Delete a run with its task instances; raise NotFound."""
        from tradewind.services.edits import delete_run
        from tradewind.services.queries import get_dag_run

        with self.env.db.session() as session:
            get_dag_run(session, dag_id, run_id)
            delete_run(session, dag_id, run_id, now=self.env.now(), user=user)
