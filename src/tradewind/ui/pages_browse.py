"""Browse (runs, task instances, event log, import errors) and Admin (variables, connections,
pools, users) pages. All read-only lists, paged without counting big tables."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from tradewind.core.permissions import Resource
from tradewind.services import ui_queries
from tradewind.services.dag_store import list_import_errors
from tradewind.services.users import list_users
from tradewind.services.variables import decrypt
from tradewind.ui.auth import env_of, require
from tradewind.ui.rendering import render
from tradewind.worker.masking import is_sensitive_key

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
    with env_of(request).db.session(readonly=True) as session:
        runs, more = ui_queries.browse_runs(
            session, dag_id=dag_id, state=state, limit=PAGE, offset=(page - 1) * PAGE
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
    with env_of(request).db.session(readonly=True) as session:
        tis, more = ui_queries.browse_task_instances(
            session,
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
    with env_of(request).db.session(readonly=True) as session:
        events, more = ui_queries.browse_events(
            session, dag_id=dag_id, event=event, limit=PAGE, offset=(page - 1) * PAGE
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
    with env_of(request).db.session(readonly=True) as session:
        errors = list_import_errors(session)[:500]
    return render(request, "import_errors.html", user, errors=errors, title="Import errors")


@router.get("/admin/variables", response_class=HTMLResponse)
def admin_variables(request: Request, page: int = Query(1, ge=1, le=100_000)) -> HTMLResponse:
    """Variables; values of secret-looking keys masked."""
    user = require(request, Resource.VARIABLE)
    env = env_of(request)
    with env.db.session(readonly=True) as session:
        rows, more = ui_queries.list_variables(session, limit=PAGE, offset=(page - 1) * PAGE)
    items = []
    for row in rows:
        if is_sensitive_key(row.key):
            value = "***"
        else:
            try:
                value = decrypt(env, row.val) if row.is_encrypted and row.val else row.val
            except Exception:  # noqa: BLE001 - a value under an old key: say so, do not fail
                value = "(cannot decrypt with the current fernet_key)"
        items.append({"key": row.key, "value": value, "description": row.description})
    return render(
        request, "admin_variables.html", user, items=items, more=more, page=page, title="Variables"
    )


@router.get("/admin/connections", response_class=HTMLResponse)
def admin_connections(request: Request, page: int = Query(1, ge=1, le=100_000)) -> HTMLResponse:
    """Connections without their passwords."""
    user = require(request, Resource.CONNECTION)
    with env_of(request).db.session(readonly=True) as session:
        items, more = ui_queries.list_connections(session, limit=PAGE, offset=(page - 1) * PAGE)
    return render(
        request,
        "admin_connections.html",
        user,
        items=items,
        more=more,
        page=page,
        title="Connections",
    )


@router.get("/admin/pools", response_class=HTMLResponse)
def admin_pools(request: Request) -> HTMLResponse:
    """Pools and the slots in use."""
    user = require(request, Resource.POOL)
    with env_of(request).db.session(readonly=True) as session:
        pools = ui_queries.list_pools(session)
    return render(request, "admin_pools.html", user, pools=pools, title="Pools")


@router.get("/admin/users", response_class=HTMLResponse)
def admin_users(request: Request, page: int = Query(1, ge=1, le=100_000)) -> HTMLResponse:
    """Users and their roles (Admin only)."""
    user = require(request, Resource.USER)
    with env_of(request).db.session(readonly=True) as session:
        users = list_users(session, limit=PAGE + 1, offset=(page - 1) * PAGE)
    return render(
        request,
        "admin_users.html",
        user,
        users=users[:PAGE],
        more=len(users) > PAGE,
        page=page,
        title="Users",
    )
