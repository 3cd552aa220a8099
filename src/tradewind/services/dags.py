"""DAGs as users see them: list, get, pause/unpause, details, delete."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tradewind.errors import NotFound
from tradewind.metastore.tables import (
    AssetDagQueue,
    Backfill,
    DagFile,
    DagModel,
    DagRun,
    DagScheduleAssetReference,
    Deadline,
    SerializedDagModel,
    TaskInstance,
    TaskInstanceHistory,
    TaskReschedule,
    XCom,
)
from tradewind.services.env import Env
from tradewind.services.event_log import log_event
from tradewind.services.queries.paging import Page

if TYPE_CHECKING:
    from tradewind.metastore.tables import ImportError_
    from tradewind.sdk.serialization import SerializedDag
    from tradewind.services.dag_store import ImportErrorRecord
    from tradewind.services.dag_warnings import DagWarning
    from tradewind.services.queries import Page


def list_dags(
    session: Session, *, include_inactive: bool = False, paused: bool | None = None
) -> list[DagModel]:
    """Return the DAGs in dag id order (only active ones unless ``include_inactive``)."""
    q = select(DagModel)
    if not include_inactive:
        q = q.where(DagModel.is_active.is_(True))
    if paused is not None:
        q = q.where(DagModel.is_paused.is_(paused))
    return list(session.scalars(q.order_by(DagModel.dag_id)))


def get_dag(session: Session, dag_id: str) -> DagModel:
    """Return the ``dag`` row of ``dag_id``; raise NotFound if no parsed file defines it."""
    row = session.get(DagModel, dag_id)
    if row is None:
        raise NotFound(
            f"DAG {dag_id!r} not found: is it in the DAGs folder, and does "
            "`tradewind dags list-import-errors` show an error for its file?"
        )
    return row


def set_paused(
    session: Session, dag_id: str, paused: bool, *, now: datetime, user: str | None = None
) -> DagModel:
    """Pause or unpause a DAG (audited); the caller wakes the scheduler after commit."""
    row = get_dag(session, dag_id)
    if row.is_paused != paused:
        row.is_paused = paused
        if not paused:
            # Recompute the next run from now: a DAG without catchup resumes with the latest
            # interval instead of an old one computed before the pause.
            row.timetable_checked_version = None
        log_event(session, "paused" if paused else "unpaused", now=now, owner=user, dag_id=dag_id)
    return row


def dag_details(session: Session, dag_id: str) -> dict[str, Any]:
    """Return the ``dag`` row's fields plus run counts and the latest version number."""
    row = get_dag(session, dag_id)
    out: dict[str, Any] = {c.name: getattr(row, c.key) for c in DagModel.__table__.columns}
    version = session.scalar(
        select(SerializedDagModel.version_number).where(
            SerializedDagModel.dag_id == dag_id,
            SerializedDagModel.version_hash == row.latest_version,
        )
    )
    out["version_number"] = version
    counts = session.execute(
        select(DagRun.state, func.count(DagRun.id))
        .where(DagRun.dag_id == dag_id)
        .group_by(DagRun.state)
    ).all()
    out["runs"] = {state: n for state, n in counts}
    return out


def delete_dag(session: Session, dag_id: str, *, now: datetime, user: str | None = None) -> int:
    """Delete a DAG and every record of it except the event log, as Airflow does.

    The DAG comes back at the next parse if its file still defines it (its file row is
    forgotten so that the DAG processor parses it again).

    Returns:
        The number of rows deleted.
    """
    row = get_dag(session, dag_id)
    fileloc = row.fileloc
    ti_ids = select(TaskInstance.id).where(TaskInstance.dag_id == dag_id)
    count = 0
    statements = [
        delete(TaskReschedule).where(TaskReschedule.ti_id.in_(ti_ids)),
        delete(XCom).where(XCom.dag_id == dag_id),
        delete(TaskInstanceHistory).where(TaskInstanceHistory.dag_id == dag_id),
        delete(TaskInstance).where(TaskInstance.dag_id == dag_id),
        delete(DagRun).where(DagRun.dag_id == dag_id),
        delete(Deadline).where(Deadline.dag_id == dag_id),
        delete(Backfill).where(Backfill.dag_id == dag_id),
        delete(AssetDagQueue).where(AssetDagQueue.target_dag_id == dag_id),
        delete(DagScheduleAssetReference).where(DagScheduleAssetReference.dag_id == dag_id),
        delete(SerializedDagModel).where(SerializedDagModel.dag_id == dag_id),
        delete(DagModel).where(DagModel.dag_id == dag_id),
        delete(DagFile).where(DagFile.fileloc == fileloc),
    ]
    for stmt in statements:
        count += session.execute(stmt).rowcount or 0  # type: ignore[attr-defined]
    log_event(session, "delete_dag", now=now, owner=user, dag_id=dag_id, extra={"rows": count})
    return count


class DagService:
    """The DAGs' use cases, bound to the environment: the CLI and the UI call these; each
    call is one transaction, a change is event-logged with its user and wakes the schedulers."""

    def __init__(self, env: Env):
        self.env = env

    def get(self, dag_id: str) -> DagModel:
        """The ``dag`` row of ``dag_id``; raise NotFound."""
        with self.env.db.session(readonly=True) as session:
            return get_dag(session, dag_id)

    def with_version(self, dag_id: str) -> tuple[DagModel, SerializedDag]:
        """The ``dag`` row, with ``next_run_info`` (its next run, paused DAGs too), and its
        latest serialized version; raise NotFound."""
        from tradewind.services.dag_store import get_serialized_dag
        from tradewind.services.run_creation import next_run_of

        with self.env.db.session(readonly=True) as session:
            dag, sdag = get_dag(session, dag_id), get_serialized_dag(session, dag_id)
            dag.next_run_info = next_run_of(session, dag, sdag, self.env.now())  # type: ignore[attr-defined]
            return dag, sdag

    def page(
        self, *, failed_since: datetime | None = None, errors: int = 0, **filters: Any
    ) -> tuple[Any, list[ImportErrorRecord]]:
        """The UI's DAGs page (``ui_queries.dags_page``'s ``search``, ``tag``, ``paused``,
        ``limit``, ``offset``), each row's DAG with its ``next_run_info``, and the first
        ``errors`` import errors, in one read."""
        from tradewind.services import ui_queries
        from tradewind.services.dag_store import get_serialized_dag, list_import_errors
        from tradewind.services.run_creation import next_run_of

        now = self.env.now()
        with self.env.db.session(readonly=True) as session:
            result = ui_queries.dags_page(session, failed_since=failed_since, **filters)
            for row in result.rows:
                try:
                    sdag = get_serialized_dag(session, row.dag.dag_id)
                    row.dag.next_run_info = next_run_of(session, row.dag, sdag, now)  # type: ignore[attr-defined]
                except NotFound:
                    row.dag.next_run_info = None  # type: ignore[attr-defined]
            return result, list_import_errors(session)[:errors] if errors else []

    def serialized(self, dag_id: str) -> SerializedDag:
        """The latest serialized version of ``dag_id``; raise NotFound."""
        from tradewind.services.dag_store import get_serialized_dag

        with self.env.db.session(readonly=True) as session:
            return get_serialized_dag(session, dag_id)

    def listing(
        self, *, include_inactive: bool = False
    ) -> list[tuple[DagModel, dict[str, Any] | None, Exception | None]]:
        """Every DAG by id with its next run (paused DAGs too), and the error its timetable
        raised computing it (a custom timetable's bug hides only that DAG's next run)."""
        from tradewind.services.dag_store import get_serialized_dag
        from tradewind.services.run_creation import next_run_of

        out: list[tuple[DagModel, dict[str, Any] | None, Exception | None]] = []
        now = self.env.now()
        with self.env.db.session(readonly=True) as session:
            for dag in list_dags(session, include_inactive=include_inactive):
                try:
                    sdag = get_serialized_dag(session, dag.dag_id)
                    out.append((dag, next_run_of(session, dag, sdag, now), None))
                except NotFound:
                    out.append((dag, None, None))
                except Exception as exc:  # noqa: BLE001 - reported by the caller
                    out.append((dag, None, exc))
        return out

    def next_runs(self, dag_id: str, count: int) -> tuple[list[dict[str, Any]], bool]:
        """The next ``count`` scheduled runs of a DAG (the first as the scheduler will make
        it), and whether the DAG is paused; raise NotFound."""
        from tradewind.services.dag_store import get_serialized_dag

        with self.env.db.session(readonly=True) as session:
            dag, sdag = get_dag(session, dag_id), get_serialized_dag(session, dag_id)
            return _next_runs(session, dag, sdag, self.env.now(), count), bool(dag.is_paused)

    def import_errors(self) -> list[ImportErrorRecord]:
        """Every current import error, by file name."""
        from tradewind.services.dag_store import list_import_errors

        with self.env.db.session(readonly=True) as session:
            return list_import_errors(session)

    def import_error_page(self, where: list[Any], paging: Any) -> Page[ImportError_]:
        """One page (``queries.Paging``) of the import errors matching ``where``."""
        from tradewind.services.queries import list_import_errors

        with self.env.db.session(readonly=True) as session:
            return list_import_errors(session, where, paging)

    def import_error(self, import_error_id: int) -> ImportError_:
        """One import error; raise NotFound."""
        from tradewind.services.queries import get_import_error

        with self.env.db.session(readonly=True) as session:
            return get_import_error(session, import_error_id)

    def warnings(self, dag_id: str | None = None) -> list[DagWarning]:
        """The warnings of the active DAGs (or of ``dag_id``), by DAG id."""
        from tradewind.services.dag_warnings import dag_warnings

        with self.env.db.session(readonly=True) as session:
            return dag_warnings(session, dag_id)

    def details(self, dag_id: str) -> dict[str, Any]:
        """The ``dag`` row's fields, its run counts and its latest version number."""
        with self.env.db.session(readonly=True) as session:
            return dag_details(session, dag_id)

    def set_paused(self, dag_id: str, paused: bool, *, user: str | None = None) -> DagModel:
        """Pause or unpause a DAG (audited), then wake the schedulers; raise NotFound."""
        with self.env.db.session() as session:
            row = set_paused(session, dag_id, paused, now=self.env.now(), user=user)
        self.env.wake()
        return row

    def delete(self, dag_id: str, *, user: str | None = None) -> int:
        """Delete every record of a DAG but the event log; return how many rows."""
        with self.env.db.session() as session:
            return delete_dag(session, dag_id, now=self.env.now(), user=user)

    def search(self, flt: Any, paging: Any) -> Page[DagModel]:
        """One page (``queries.Paging``) of the DAGs matching ``flt`` (``queries.DagFilter``)."""
        from tradewind.services.queries import list_dags as list_dag_rows

        with self.env.db.session(readonly=True) as session:
            return list_dag_rows(session, flt, paging)

    def pause_matching(
        self, flt: Any, paging: Any, paused: bool, *, user: str | None = None
    ) -> Page[DagModel]:
        """Pause or unpause one page of the DAGs matching ``flt`` (each audited), then wake
        the schedulers; return that page."""
        from tradewind.services.queries import list_dags as list_dag_rows

        now = self.env.now()
        with self.env.db.session() as session:
            page = list_dag_rows(session, flt, paging)
            for row in page.items:
                set_paused(session, row.dag_id, paused, now=now, user=user)
            session.flush()
        self.env.wake()
        return page

    def detail(self, dag_id: str) -> tuple[DagModel, SerializedDag, Any, int]:
        """The ``dag`` row, its latest serialized DAG and stored version, and how many runs
        are active; raise NotFound."""
        from tradewind.services import queries as q
        from tradewind.services.dag_store import get_serialized_dag

        with self.env.db.session(readonly=True) as session:
            row = get_dag(session, dag_id)
            sdag = get_serialized_dag(session, dag_id)
            return row, sdag, q.latest_version(session, dag_id), q.active_run_count(session, dag_id)

    def delete_idle(self, dag_id: str, *, user: str | None = None) -> int:
        """As :meth:`delete`, refused (Conflict) while task instances of the DAG are running;
        raise NotFound."""
        from tradewind.errors import Conflict
        from tradewind.services.queries import running_task_count

        with self.env.db.session() as session:
            get_dag(session, dag_id)
            if running_task_count(session, dag_id):
                raise Conflict(f"Task instances of DAG {dag_id!r} are still running")
            return delete_dag(session, dag_id, now=self.env.now(), user=user)

    def tags(self, pattern: str | None, paging: Any, prefix: str | None = None) -> Page[str]:
        """One page of the distinct tags of the active DAGs, filtered by name."""
        from tradewind.services.queries import dag_tags

        with self.env.db.session(readonly=True) as session:
            return dag_tags(session, pattern, paging, prefix)

    def code(
        self, dag_id: str, version_number: int | None = None
    ) -> tuple[DagModel, str | None, Any]:
        """The ``dag`` row, the source of the DAG file of that version (default: the latest)
        as the DAG processor stored it (None if not stored), and the latest stored version;
        raise NotFound."""
        from tradewind.services.dag_store import get_serialized_dag
        from tradewind.services.queries import latest_version
        from tradewind.services.ui_queries import dag_source

        with self.env.db.session(readonly=True) as session:
            row = get_dag(session, dag_id)
            version = str(version_number) if version_number else None
            sdag = get_serialized_dag(session, dag_id, version)
            content = dag_source(session, sdag.fileloc or row.fileloc)
            return row, content, latest_version(session, dag_id)

    def versions(
        self, dag_id: str, version_number: int | None, paging: Any
    ) -> tuple[Page[SerializedDagModel], str]:
        """One page (``queries.Paging``) of a DAG's stored versions (only ``version_number``
        if given), and the DAG's display name; raise NotFound."""
        from tradewind.services.queries import display_names
        from tradewind.services.queries.system import list_dag_versions

        with self.env.db.session(readonly=True) as session:
            get_dag(session, dag_id)
            page = list_dag_versions(session, dag_id, version_number, paging)
            return page, display_names(session, [dag_id])[dag_id]

    def version(self, dag_id: str, version_number: int) -> tuple[SerializedDagModel, str]:
        """One stored version of a DAG and the DAG's display name; raise NotFound."""
        from tradewind.services.queries import display_names
        from tradewind.services.queries.system import get_dag_version

        with self.env.db.session(readonly=True) as session:
            row = get_dag_version(session, dag_id, version_number)
            return row, display_names(session, [dag_id])[dag_id]


def _next_runs(
    session: Session, dag: DagModel, sdag: SerializedDag, now: datetime, count: int
) -> list[dict[str, Any]]:
    from tradewind.sdk.timetables import DataInterval, TimeRestriction
    from tradewind.services.run_creation import next_run_of

    first = next_run_of(session, dag, sdag, now)
    out = [first] if first else []
    restriction = TimeRestriction(
        earliest=None,
        latest=datetime.fromisoformat(sdag.end_date) if sdag.end_date else None,
        catchup=True,
    )
    while out and len(out) < count and sdag.timetable.periodic:
        last = DataInterval(out[-1]["data_interval_start"], out[-1]["data_interval_end"])
        info = sdag.timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction, now=now
        )
        if info is None:
            break
        out.append(
            {
                "run_after": info.run_after.astimezone(first["run_after"].tzinfo),  # type: ignore[index]
                "logical_date": info.logical_date,
                "data_interval_start": info.data_interval.start,
                "data_interval_end": info.data_interval.end,
                "timezone": first["timezone"],  # type: ignore[index]
            }
        )
    return out
