"""Import errors, the event log, backfills and job heartbeats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tradewind.errors import NotFound
from tradewind.metastore.tables import (
    Backfill,
    EventLog,
    ImportError_,
    Job,
)
from tradewind.services.queries.paging import (
    WILDCARD,
    Page,
    Paging,
    paged,
    pattern_clause,
)


def import_error_conditions(filename: str | None, pattern: str | None) -> list[Any]:
    """WHERE terms of ``GET /importErrors``."""
    out: list[Any] = [pattern_clause(ImportError_.filename, pattern)]
    if filename:
        out.append(ImportError_.filename == filename)
    return out


@dataclass(frozen=True)
class EventLogFilter:
    """The filters of ``GET /eventLogs``."""

    dag_id: str | None = None
    task_id: str | None = None
    run_id: str | None = None
    map_index: int | None = None
    try_number: int | None = None
    owner: str | None = None
    event: str | None = None
    excluded_events: Sequence[str] = ()
    included_events: Sequence[str] = ()
    before: datetime | None = None
    after: datetime | None = None
    dag_id_pattern: str | None = None
    event_pattern: str | None = None
    owner_pattern: str | None = None

    def conditions(self) -> list[Any]:
        """The WHERE terms of this filter."""
        e = EventLog
        out: list[Any] = []
        for column, value in (
            (e.dag_id, self.dag_id),
            (e.task_id, self.task_id),
            (e.run_id, self.run_id),
            (e.map_index, self.map_index),
            (e.try_number, self.try_number),
            (e.owner, self.owner),
            (e.event, self.event),
        ):
            if value is not None:
                out.append(column == value)
        if self.excluded_events:
            out.append(e.event.not_in(list(self.excluded_events)))
        if self.included_events:
            out.append(e.event.in_(list(self.included_events)))
        if self.before is not None:
            out.append(e.dttm < self.before)
        if self.after is not None:
            out.append(e.dttm > self.after)
        out.append(pattern_clause(e.dag_id, self.dag_id_pattern))
        out.append(pattern_clause(e.event, self.event_pattern))
        out.append(pattern_clause(e.owner, self.owner_pattern))
        return out


# -- audit, jobs, backfills ----------------------------------------------------------------
IMPORT_ERROR_ORDER = {
    "id": ImportError_.id,
    "import_error_id": ImportError_.id,
    "timestamp": ImportError_.timestamp,
    "filename": ImportError_.filename,
    "bundle_name": ImportError_.bundle_name,
}

EVENT_LOG_ORDER = {
    "id": EventLog.id,
    "event_log_id": EventLog.id,
    "dttm": EventLog.dttm,
    "when": EventLog.dttm,
    "dag_id": EventLog.dag_id,
    "task_id": EventLog.task_id,
    "run_id": EventLog.run_id,
    "event": EventLog.event,
    "owner": EventLog.owner,
    "logical_date": EventLog.logical_date,
    "map_index": EventLog.map_index,
    "try_number": EventLog.try_number,
}

BACKFILL_ORDER = {
    "id": Backfill.id,
    "dag_id": Backfill.dag_id,
    "from_date": Backfill.from_date,
    "to_date": Backfill.to_date,
    "created_at": Backfill.created_at,
}


def list_import_errors(
    session: Session, conditions: list[Any], paging: Paging
) -> Page[ImportError_]:
    """A page of import errors."""
    return paged(session, select(ImportError_), conditions, paging, IMPORT_ERROR_ORDER, "id")


def get_import_error(session: Session, import_error_id: int) -> ImportError_:
    """One import error, or NotFound."""
    row = session.get(ImportError_, import_error_id)
    if row is None:
        raise NotFound(f"The ImportError with import_error_id: `{import_error_id}` was not found")
    return row


def list_event_logs(session: Session, conditions: list[Any], paging: Paging) -> Page[EventLog]:
    """A page of audit-log entries."""
    return paged(session, select(EventLog), conditions, paging, EVENT_LOG_ORDER, "id")


def get_event_log(session: Session, event_log_id: int) -> EventLog:
    """One audit-log entry, or NotFound."""
    row = session.get(EventLog, event_log_id)
    if row is None:
        raise NotFound(f"The Event Log with id: `{event_log_id}` not found")
    return row


def list_backfill_rows(session: Session, dag_id: str | None, paging: Paging) -> Page[Backfill]:
    """A page of backfills (of one DAG, or all)."""
    where = [Backfill.dag_id == dag_id] if dag_id and dag_id != WILDCARD else []
    return paged(session, select(Backfill), where, paging, BACKFILL_ORDER, "id")


def latest_heartbeat(session: Session, job_type: str) -> datetime | None:
    """The newest heartbeat of a running job of that type (``SchedulerJob``...)."""
    names = {job_type, job_type.lower(), job_type.replace("Job", "").lower()}
    query = select(func.max(Job.latest_heartbeat)).where(
        Job.job_type.in_(sorted(names)), Job.state == "running"
    )
    value = session.scalar(query)
    if value is not None and value.tzinfo is None:
        from datetime import timezone

        value = value.replace(tzinfo=timezone.utc)
    return value


def database_ok(session: Session) -> bool:
    """Whether the metastore answers a trivial query."""
    try:
        session.execute(select(1))
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        return False
    return True
