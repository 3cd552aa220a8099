"""``/importErrors`` and ``/eventLogs`` (the audit log: who did what)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.api.v2 import convert
from tradewind.api.v2 import schemas as s
from tradewind.api.v2.list_filters import EventLogFilters, ImportErrorFilters
from tradewind.api.v2.params import Limit, Offset, OrderBy
from tradewind.core.permissions import Action, Resource
from tradewind.services import queries as q
from tradewind.services.dags import DagService
from tradewind.services.event_log import EventLogService

router = APIRouter()

ReadImportErrors = Annotated[CurrentUser, permission(Resource.IMPORT_ERROR, Action.READ)]
ReadEventLog = Annotated[CurrentUser, permission(Resource.EVENT_LOG, Action.READ)]
Events = Annotated[list[str] | None, Query()]


@router.get("/importErrors", response_model=s.ImportErrorCollectionResponse, tags=["Import Error"])
def get_import_errors(
    env: EnvDep,
    _user: ReadImportErrors,
    limit: Limit = 50,
    offset: Offset = 0,
    order_by: OrderBy = None,
    filename_pattern: str | None = None,
    filename: str | None = None,
    extra: ImportErrorFilters = [],  # noqa: B006 - FastAPI fills it
) -> s.ImportErrorCollectionResponse:
    """DAG files that failed to import."""
    where = list(q.import_error_conditions(filename, filename_pattern)) + list(extra)
    paging = q.Paging(limit, offset, tuple(order_by or ("id",)))
    page = DagService(env).import_error_page(where, paging)
    items = [convert.import_error_response(r) for r in page.items]
    return s.ImportErrorCollectionResponse(import_errors=items, total_entries=page.total)


@router.get(
    "/importErrors/{import_error_id}", response_model=s.ImportErrorResponse, tags=["Import Error"]
)
def get_import_error(
    import_error_id: int, env: EnvDep, _user: ReadImportErrors
) -> s.ImportErrorResponse:
    """One import error."""
    return convert.import_error_response(DagService(env).import_error(import_error_id))


@router.get("/eventLogs", response_model=s.EventLogCollectionResponse, tags=["Event Log"])
def get_event_logs(
    env: EnvDep,
    _user: ReadEventLog,
    limit: Limit = 50,
    offset: Offset = 0,
    order_by: OrderBy = None,
    dag_id: str | None = None,
    task_id: str | None = None,
    run_id: str | None = None,
    map_index: int | None = None,
    try_number: int | None = None,
    owner: str | None = None,
    event: str | None = None,
    excluded_events: Events = None,
    included_events: Events = None,
    before: datetime | None = None,
    after: datetime | None = None,
    dag_id_pattern: str | None = None,
    event_pattern: str | None = None,
    owner_pattern: str | None = None,
    extra: EventLogFilters = [],  # noqa: B006 - FastAPI fills it
) -> s.EventLogCollectionResponse:
    """Audit-log entries, newest filters first applied in SQL."""
    flt = q.EventLogFilter(
        dag_id=dag_id,
        task_id=task_id,
        run_id=run_id,
        map_index=map_index,
        try_number=try_number,
        owner=owner,
        event=event,
        excluded_events=tuple(excluded_events or ()),
        included_events=tuple(included_events or ()),
        before=convert.aware(before),
        after=convert.aware(after),
        dag_id_pattern=dag_id_pattern,
        event_pattern=event_pattern,
        owner_pattern=owner_pattern,
    )
    paging = q.Paging(limit, offset, tuple(order_by or ("id",)))
    page, names = EventLogService(env).page(flt.conditions() + list(extra), paging)
    items = [convert.event_log_response(r, names) for r in page.items]
    return s.EventLogCollectionResponse(event_logs=items, total_entries=page.total)


@router.get("/eventLogs/{event_log_id}", response_model=s.EventLogResponse, tags=["Event Log"])
def get_event_log(event_log_id: int, env: EnvDep, _user: ReadEventLog) -> s.EventLogResponse:
    """One audit-log entry."""
    row, names = EventLogService(env).get(event_log_id)
    return convert.event_log_response(row, names)
