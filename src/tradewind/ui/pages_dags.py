"""The DAGs page, a DAG's grid, a task instance's details panel, and live-refresh JSON."""

from __future__ import annotations

import html
import json
from collections import Counter
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from markupsafe import Markup

from tradewind.core.permissions import Resource
from tradewind.errors import NotFound
from tradewind.sdk.serialization import SerializedDag
from tradewind.services import ui_queries
from tradewind.services.dags import DagService
from tradewind.services.monitoring import MonitorService
from tradewind.services.monitoring import failed_since as failed_window
from tradewind.services.run_service import RunService
from tradewind.services.task_instance_service import TaskInstanceService
from tradewind.services.task_instances import ti_log_path
from tradewind.services.task_logs import log_as_text, read_log_lines
from tradewind.ui.auth import env_of, require
from tradewind.ui.mapped_views import mapped_cell, mapped_list_context
from tradewind.ui.rendering import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
ACTIVE_STATES = {"queued", "running"}


def dag_or_404(env: Any, dag_id: str) -> tuple[Any, SerializedDag]:
    """The DAG's row (with ``next_run_info``) and latest serialized version, or 404."""
    from tradewind.services.dags import DagService

    try:
        return DagService(env).with_version(dag_id)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/", response_class=HTMLResponse)
@router.get("/dags", response_class=HTMLResponse)
def dags_list(
    request: Request,
    q: str = "",
    tag: str = "",
    status: str = Query("all", pattern="^(all|active|paused|failed_24h)$"),
    page: int = Query(1, ge=1, le=100_000),
) -> HTMLResponse:
    """Every DAG, failing ones first, with recent run and task state counts."""
    user = require(request, Resource.DAG)
    env = env_of(request)
    paused = {"all": None, "active": False, "paused": True}.get(status)
    failed_since = failed_window(env.now()) if status == "failed_24h" else None
    result, errors = DagService(env).page(
        search=q.strip(),
        tag=tag,
        paused=paused,
        failed_since=failed_since,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        errors=20,
    )
    components = MonitorService(env).health()
    pages = max(1, -(-result.total // PAGE_SIZE))
    return render(
        request,
        "dags.html",
        user,
        result=result,
        errors=errors,
        health=components,
        q=q,
        tag=tag,
        status=status,
        page=page,
        pages=pages,
        title="DAGs",
    )


def group_rows(
    node: dict[str, Any],
    depth: int = 0,
    parents: tuple[str, ...] = (),
    rank: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Rows of the grid: upstream first (``rank``: topological position), each group together.

    Inside each group, its tasks and sub-groups are sorted by the earliest topological
    position they hold, so a group sits where its first task would, with all its tasks.
    """
    rank = rank or {}
    rows: list[dict[str, Any]] = []

    def position(child: Any) -> tuple[int, str]:
        ids = _group_tasks(child) if isinstance(child, dict) else [child]
        label = str(child["group_id"]) if isinstance(child, dict) else str(child)
        return min((rank.get(t, len(rank)) for t in ids), default=len(rank)), label

    for child in sorted(node.get("children", []), key=position):
        if isinstance(child, dict):
            gid = str(child["group_id"])
            rows.append(
                {
                    "kind": "group",
                    "id": gid,
                    "depth": depth,
                    "parents": parents,
                    "tasks": _group_tasks(child),
                }
            )
            rows.extend(group_rows(child, depth + 1, (*parents, gid), rank))
        else:
            rows.append({"kind": "task", "id": child, "depth": depth, "parents": parents})
    return rows


def _group_tasks(node: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for child in node.get("children", []):
        out.extend(_group_tasks(child) if isinstance(child, dict) else [child])
    return out


def group_state(states: list[str | None]) -> str:
    """The state a collapsed group shows for one run."""
    # The same "most alarming state wins" rule as a mapped task's cell.
    return ui_queries.mapped_state(Counter(s or "none" for s in states))


@router.get("/dags/{dag_id}/grid", response_class=HTMLResponse)
def dag_grid(
    request: Request,
    dag_id: str,
    before: int | None = None,
    runs: int = Query(ui_queries.RECENT_RUNS, ge=1, le=100),
    run_id: str = "",
    task_id: str = "",
    try_number: int | None = None,
    map_index: int = -1,
) -> HTMLResponse:
    """Runs as columns, tasks as rows; a selected cell's details below."""
    user = require(request, Resource.DAG)
    env = env_of(request)
    dag, sdag = dag_or_404(env, dag_id)
    g = RunService(env).grid(dag_id, limit=runs, before_id=before)
    detail = (
        panel_context(env, sdag, run_id, task_id, try_number, map_index)
        if run_id and task_id
        else None
    )
    for key, counts in g.mapped.items():
        g.cells[key] = ui_queries.mapped_state(counts)
    rank = {task: i for i, task in enumerate(sdag.topological_order())}
    rows = group_rows(sdag.data.get("task_group") or {"children": list(sdag.tasks)}, rank=rank)
    known = {r["id"] for r in rows if r["kind"] == "task"}
    rows += [
        {"kind": "task", "id": t, "depth": 0, "parents": ()} for t in sdag.tasks if t not in known
    ]
    # Tasks that ran in older versions but are gone now still have cells: show them last.
    extra = sorted({task for (_, task) in g.cells} - set(sdag.tasks))
    rows += [{"kind": "task", "id": t, "depth": 0, "parents": (), "removed": True} for t in extra]
    run_keys = [(r.run_id, html.escape(r.run_id), quote(r.run_id, safe="")) for r in g.runs]
    for row in rows:
        task = sdag.tasks.get(row["id"]) if row["kind"] == "task" else None
        row["mapped"] = task is not None and task.is_mapped
        row["cells"] = row_cells(row, g.cells, run_keys, g.mapped)
    active = any(r.state in ACTIVE_STATES for r in g.runs)
    return render(
        request,
        "grid.html",
        user,
        dag=dag,
        sdag=sdag,
        grid=g,
        rows=rows,
        detail=detail,
        active=active,
        run_bars=run_bars(g.runs, env.now()),
        bar_height=BAR_HEIGHT,
        tab="grid",
        title=f"{dag_id} - grid",
    )


BAR_HEIGHT = 48


def run_bars(runs: list[Any], now: Any) -> list[dict[str, Any]]:
    """Per run: its duration bar's height (longest run = full height) and its date label."""
    durations = []
    for run in runs:
        end = run.end_date or (now if run.start_date else None)
        durations.append((end - run.start_date).total_seconds() if run.start_date and end else 0.0)
    longest = max(durations, default=0.0) or 1.0
    out = []
    for run, seconds in zip(runs, durations, strict=True):
        when = run.logical_date or run.run_after or run.start_date
        out.append(
            {
                "run": run,
                "height": max(2, round(BAR_HEIGHT * seconds / longest)) if seconds else 2,
                "seconds": seconds,
                "date": when.strftime("%m-%d") if when else "",
                "time": when.strftime("%H:%M") if when else "",
                "when": when,
            }
        )
    return out


def row_cells(
    row: dict[str, Any],
    cells: dict[tuple[str, str], str],
    run_keys: list[tuple[str, str, str]],
    mapped: dict[tuple[str, str], dict[str, int]] | None = None,
) -> Markup:
    """The ``<td>`` cells of one grid row, built here rather than in Jinja for speed.

    A 100-task grid of 25 runs has 2,500 cells; every user-controlled value is escaped
    with ``html.escape`` (ids) or ``quote`` (URLs) before it is put into the markup.
    """
    parts: list[str] = []
    task = row["id"]
    if row["kind"] == "group":
        label = html.escape(task)
        for run_id, _, _ in run_keys:
            state = group_state([cells.get((run_id, t)) for t in row["tasks"]])
            parts.append(
                f'<td><span class="cell state-{state}" title="{label} · {state}"></span></td>'
            )
        return Markup("".join(parts))  # noqa: S704 - every piece escaped above
    esc_task, q_task = html.escape(task), quote(task, safe="")
    for run_id, esc_run, q_run in run_keys:
        state = cells.get((run_id, task))  # type: ignore[assignment]
        if state is None:
            parts.append("<td></td>")
            continue
        counts = mapped.get((run_id, task)) if mapped else None
        if counts:
            parts.append(mapped_cell(esc_task, q_task, esc_run, q_run, counts))
            continue
        parts.append(
            f'<td><a class="cell state-{html.escape(state)}" data-run-id="{esc_run}" data-task-id="{esc_task}"'
            f' href="?run_id={q_run}&amp;task_id={q_task}#details" title="{esc_task} · {html.escape(state)}"></a></td>'
        )
    return Markup("".join(parts))  # noqa: S704 - every piece escaped above


def ti_context(
    env: Any,
    dag_id: str,
    run_id: str,
    task_id: str,
    try_number: int | None,
    map_index: int = -1,
) -> dict[str, Any] | None:
    """What the details panel shows: the TI, its tries, XComs, rendered fields and a log."""
    ti, tries, xcoms, task = TaskInstanceService(env).detail(dag_id, run_id, task_id, map_index)
    if ti is None:
        return None
    numbers = sorted({t.try_number for t in tries} | ({ti.try_number} if ti.try_number else set()))
    shown = try_number if try_number in numbers else (numbers[-1] if numbers else None)
    log = read_log_lines(ti_log_path(env.settings, ti, shown)) if shown else []
    values = [{"key": x.key, "value": xcom_value(x)} for x in xcoms]
    return {
        "ti": ti,
        "task": task,
        "tries": numbers,
        "history": tries,
        # Tries Tradewind lost (its own process went away): requeued without using a retry.
        "lost_tries": {t.try_number: t.error or "" for t in tries if t.state == "lost"},
        "try_shown": shown,
        "log": log,
        "xcoms": values,
    }


def panel_context(
    env: Any,
    sdag: SerializedDag,
    run_id: str,
    task_id: str,
    try_number: int | None,
    map_index: int,
) -> dict[str, Any] | None:
    """A mapped task's list of instances (no map index given), else one task instance."""
    task = sdag.tasks.get(task_id)
    if task is not None and task.is_mapped and map_index < 0:
        found = mapped_list_context(env, sdag.dag_id, run_id, task_id)
        if found["total"]:
            return {"mapped": found}
    return ti_context(env, sdag.dag_id, run_id, task_id, try_number, map_index)


def xcom_value(xcom: Any) -> Any:
    """An XCom's decoded value (its raw text if it is not JSON)."""
    try:
        return json.loads(xcom.value)
    except ValueError:
        return xcom.value


@router.get("/dags/{dag_id}/ti", response_class=HTMLResponse)
def ti_panel(
    request: Request,
    dag_id: str,
    run_id: str,
    task_id: str,
    try_number: int | None = None,
    map_index: int = -1,
) -> HTMLResponse:
    """The details panel of one task instance (loaded into the grid page by script)."""
    user = require(request, Resource.TASK_INSTANCE)
    env = env_of(request)
    dag, sdag = dag_or_404(env, dag_id)
    detail = panel_context(env, sdag, run_id, task_id, try_number, map_index)
    if detail is None:
        raise HTTPException(
            404, f"task instance {task_id!r} of run {run_id!r} of DAG {dag_id!r} not found"
        )
    return render(request, "ti_panel.html", user, dag=dag, detail=detail)


@router.get("/dags/{dag_id}/log", response_class=PlainTextResponse)
def ti_log_download(
    request: Request,
    dag_id: str,
    run_id: str,
    task_id: str,
    try_number: int | None = None,
    map_index: int = -1,
) -> PlainTextResponse:
    """One try's log as a plain-text file (secrets masked, tracebacks included)."""
    require(request, Resource.TASK_INSTANCE)
    env = env_of(request)
    detail = ti_context(env, dag_id, run_id, task_id, try_number, map_index)
    if detail is None or detail["try_shown"] is None:
        raise HTTPException(404, f"no log for task {task_id!r} of run {run_id!r} of DAG {dag_id!r}")
    name = f"{dag_id}__{run_id}__{task_id}__attempt_{detail['try_shown']}.log"
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return PlainTextResponse(
        log_as_text(detail["log"]),
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


@router.get("/dags/{dag_id}/states.json")
def live_states(
    request: Request, dag_id: str, run_id: list[str] = Query(default=[])
) -> JSONResponse:
    """Current states of some runs and their task instances, for live refresh."""
    require(request, Resource.DAG_RUN)
    env = env_of(request)
    data = RunService(env).live_states(dag_id, run_id[:100])
    active = any(v["state"] in ACTIVE_STATES for v in data.values())
    return JSONResponse({"runs": data, "active": active})
