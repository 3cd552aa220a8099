"""A DAG's details (every attribute), its calendar of runs, and its audit log."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from tradewind.core.permissions import Resource
from tradewind.services.event_log import EventLogService
from tradewind.services.run_service import RunService
from tradewind.ui.auth import env_of, require
from tradewind.ui.pages_dags import dag_or_404
from tradewind.ui.rendering import render

router = APIRouter(include_in_schema=False)
#: Columns of the DAG row shown on the details page, in this order.
DAG_ROW_FIELDS = [
    "dag_id",
    "display_name",
    "description",
    "is_paused",
    "is_active",
    "owners",
    "tags",
    "fileloc",
    "relative_fileloc",
    "timetable_summary",
    "timetable_description",
    "max_active_runs",
    "max_active_tasks",
    "max_consecutive_failed_dag_runs",
    "has_import_errors",
    "has_task_concurrency_limits",
    "latest_version",
    "last_parsed_time",
    "last_parse_duration",
    "next_dagrun",
    "next_dagrun_data_interval_start",
    "next_dagrun_data_interval_end",
    "next_dagrun_create_after",
]
#: Serialized keys that other tabs show (tasks: grid and graph; doc: the grid's header).
_SHOWN_ELSEWHERE = {"tasks", "task_group", "__version", "doc_md"}


def dag_attributes(dag: Any, sdag: Any) -> list[tuple[str, Any]]:
    """Every attribute of a DAG: its row's columns, then its serialized definition's keys."""
    out: list[tuple[str, Any]] = [(name, getattr(dag, name, None)) for name in DAG_ROW_FIELDS]
    seen = {name for name, _ in out}
    for key in sorted(sdag.data):
        if key not in seen and key not in _SHOWN_ELSEWHERE:
            out.append((key, sdag.data[key]))
    out.append(("task_count", len(sdag.tasks)))
    return out


@router.get("/dags/{dag_id}/details", response_class=HTMLResponse)
def dag_details(request: Request, dag_id: str) -> HTMLResponse:
    """Every attribute of the DAG, as Airflow's DAG details tab."""
    user = require(request, Resource.DAG)
    env = env_of(request)
    dag, sdag = dag_or_404(env, dag_id)
    attributes = dag_attributes(dag, sdag)
    return render(
        request,
        "dag_details.html",
        user,
        dag=dag,
        sdag=sdag,
        attributes=attributes,
        tab="details",
        title=f"{dag_id} - details",
    )


def _day_state(states: dict[str, int]) -> str:
    """The colour of a calendar day: any failure wins, then unfinished runs, then success."""
    for state in ("failed", "running", "queued", "success"):
        if states.get(state):
            return state
    return "none"


def calendar_cells(days: dict[date, dict[str, int]], today: date, weeks: int = 53) -> Any:
    """Squares of a year-long calendar: one column per week (Monday on top), one per day."""
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    cells, months = [], []
    for offset in range((today - first).days + 1):
        day = first + timedelta(days=offset)
        week, weekday = divmod(offset, 7)
        states = days.get(day, {})
        total = sum(states.values())
        summary = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "no runs"
        cells.append(
            {
                "x": week * 14,
                "y": weekday * 14,
                "state": _day_state(states) if total else "none",
                "title": f"{day.isoformat()}: {summary}",
                "date": day.isoformat(),
                "runs": total,
            }
        )
        if day.day == 1 or offset == 0:
            months.append({"x": week * 14, "label": day.strftime("%b %Y" if offset == 0 else "%b")})
    return {"cells": cells, "months": months, "width": weeks * 14 + 10}


@router.get("/dags/{dag_id}/calendar", response_class=HTMLResponse)
def dag_calendar(request: Request, dag_id: str) -> HTMLResponse:
    """A year of runs, one square per day, coloured by how the day's runs ended."""
    user = require(request, Resource.DAG_RUN)
    env = env_of(request)
    now: datetime = env.now()
    dag, sdag = dag_or_404(env, dag_id)
    days = RunService(env).calendar(dag_id, now - timedelta(days=7 * 53 + 7))
    return render(
        request,
        "calendar.html",
        user,
        dag=dag,
        sdag=sdag,
        calendar=calendar_cells(days, now.date()),
        days_with_runs=len(days),
        tab="calendar",
        title=f"{dag_id} - calendar",
    )


@router.get("/dags/{dag_id}/audit_log", response_class=HTMLResponse)
def dag_audit_log(
    request: Request, dag_id: str, event: str = "", page: int = Query(1, ge=1, le=100_000)
) -> HTMLResponse:
    """The events of one DAG: triggers, pauses, clears, marks, who and when."""
    user = require(request, Resource.EVENT_LOG)
    env = env_of(request)
    dag, sdag = dag_or_404(env, dag_id)
    events, more = EventLogService(env).browse(
        dag_id=dag_id, event=event, limit=50, offset=(page - 1) * 50
    )
    return render(
        request,
        "dag_audit_log.html",
        user,
        dag=dag,
        sdag=sdag,
        events=events,
        more=more,
        page=page,
        event=event,
        tab="audit_log",
        title=f"{dag_id} - audit log",
    )
