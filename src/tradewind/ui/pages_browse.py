"""Browse pages (runs, task instances, event log, import errors): read-only lists, paged
without counting big tables. The Admin pages are in :mod:`tradewind.ui.admin`."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from tradewind.core.permissions import Resource
from tradewind.services.dags import DagService
from tradewind.services.event_log import EventLogService
from tradewind.services.run_service import RunService
from tradewind.services.task_instance_service import TaskInstanceService
from tradewind.ui.auth import env_of, require
from tradewind.ui.rendering import render

router = APIRouter(include_in_schema=False)
PAGE = 50


def _date(text: str) -> datetime | None:
    """A ``YYYY-MM-DD`` (or ISO) filter value as UTC, None when empty or malformed."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@router.get("/browse/runs", response_class=HTMLResponse)
def browse_runs(
    request: Request, dag_id: str = "", state: str = "", page: int = Query(1, ge=1, le=100_000)
) -> HTMLResponse:
    """DAG runs, newest first, filtered by DAG and state."""
    user = require(request, Resource.DAG_RUN)
    runs, more = RunService(env_of(request)).browse(
        dag_id=dag_id, state=state, limit=PAGE, offset=(page - 1) * PAGE
    )
    return render(
        request,
        "browse_runs.html",
        user,
        runs=runs,
        more=more,
        page=page,
        dag_id=dag_id,
        state=state,
        title="DAG runs",
    )


@router.get("/browse/task_instances", response_class=HTMLResponse)
def browse_tis(
    request: Request,
    dag_id: str = "",
    state: str = "",
    start_after: str = "",
    start_before: str = "",
    page: int = Query(1, ge=1, le=100_000),
) -> HTMLResponse:
    """Task instances, newest first, filtered by DAG, state and start date."""
    user = require(request, Resource.TASK_INSTANCE)
    tis, more = TaskInstanceService(env_of(request)).browse(
        dag_id=dag_id,
        state=state,
        start_after=_date(start_after),
        start_before=_date(start_before),
        limit=PAGE,
        offset=(page - 1) * PAGE,
    )
    return render(
        request,
        "browse_tis.html",
        user,
        tis=tis,
        more=more,
        page=page,
        dag_id=dag_id,
        state=state,
        start_after=start_after,
        start_before=start_before,
        title="Task instances",
    )


@router.get("/browse/events", response_class=HTMLResponse)
def browse_events(
    request: Request, dag_id: str = "", event: str = "", page: int = Query(1, ge=1, le=100_000)
) -> HTMLResponse:
    """The audit trail: who did what, when."""
    user = require(request, Resource.EVENT_LOG)
    events, more = EventLogService(env_of(request)).browse(
        dag_id=dag_id, event=event, limit=PAGE, offset=(page - 1) * PAGE
    )
    return render(
        request,
        "browse_events.html",
        user,
        events=events,
        more=more,
        page=page,
        dag_id=dag_id,
        event=event,
        title="Event log",
    )


@router.get("/browse/import_errors", response_class=HTMLResponse)
def browse_import_errors(request: Request) -> HTMLResponse:
    """DAG files that failed to import, with the error."""
    user = require(request, Resource.IMPORT_ERROR)
    errors = DagService(env_of(request)).import_errors()[:500]
    return render(request, "import_errors.html", user, errors=errors, title="Import errors")
