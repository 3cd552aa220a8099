"""A DAG's other views: graph, run details, Gantt, task durations, code, trigger form."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from tradewind.core.permissions import Action, Resource
from tradewind.errors import NotFound
from tradewind.services import ui_queries
from tradewind.services.runs import get_run
from tradewind.ui.auth import env_of, require
from tradewind.ui.graph_layout import NODE_H, NODE_W, layout
from tradewind.ui.pages_dags import ACTIVE_STATES, load_dag
from tradewind.ui.rendering import code_css, highlight_python, render

router = APIRouter(include_in_schema=False)
CHART_W, ROW_H, LABEL_W = 760, 22, 200


def _run_or_latest(session: Any, dag_id: str, run_id: str) -> Any | None:
    """The named run (404 if unknown), or the DAG's newest run, or None."""
    if run_id:
        try:
            return get_run(session, dag_id, run_id)
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from None
    g = ui_queries.grid(session, dag_id, limit=1)
    return g.runs[-1] if g.runs else None


@router.get("/dags/{dag_id}/graph", response_class=HTMLResponse)
def dag_graph(request: Request, dag_id: str, run_id: str = "") -> HTMLResponse:
    """Tasks and edges left to right, coloured by the selected run's states."""
    user = require(request, Resource.DAG)
    env = env_of(request)
    with env.db.session(readonly=True) as session:
        dag, sdag = load_dag(session, dag_id)
        run = _run_or_latest(session, dag_id, run_id)
        states = (
            {ti.task_id: ti.state for ti in ui_queries.run_tis(session, dag_id, run.run_id)}
            if run
            else {}
        )
        recent = ui_queries.grid(session, dag_id, limit=25).runs
    upstream = {tid: t.upstream_task_ids for tid, t in sdag.tasks.items()}
    drawing = layout(sdag.topological_order(), upstream)
    return render(
        request,
        "graph.html",
        user,
        dag=dag,
        sdag=sdag,
        run=run,
        recent=list(reversed(recent)),
        states=states,
        drawing=drawing,
        edge_info=sdag.data.get("edge_info") or {},
        node_w=NODE_W,
        node_h=NODE_H,
        active=run is not None and run.state in ACTIVE_STATES,
        tab="graph",
        title=f"{dag_id} - graph",
    )


@router.get("/dags/{dag_id}/run", response_class=HTMLResponse)
def run_details(request: Request, dag_id: str, run_id: str) -> HTMLResponse:
    """One run: its state, dates, conf, note and task instances."""
    user = require(request, Resource.DAG_RUN)
    env = env_of(request)
    with env.db.session(readonly=True) as session:
        dag, sdag = load_dag(session, dag_id)
        run = _run_or_latest(session, dag_id, run_id)
        tis = ui_queries.run_tis(session, dag_id, run_id)
    return render(
        request,
        "run.html",
        user,
        dag=dag,
        sdag=sdag,
        run=run,
        tis=tis,
        tab="run",
        title=f"{dag_id} - {run_id}",
    )


def gantt_bars(tis: list[Any], now: datetime) -> tuple[list[dict[str, Any]], float]:
    """Bars of a Gantt chart: x offset and width in pixels for each started task instance."""
    started = [t for t in tis if t.start_date is not None]
    if not started:
        return [], 0.0
    t0 = min(t.start_date for t in started)
    t1 = max((t.end_date or now) for t in started)
    span = max((t1 - t0).total_seconds(), 0.001)
    bars = []
    for i, ti in enumerate(started):
        start = (ti.start_date - t0).total_seconds()
        length = ((ti.end_date or now) - ti.start_date).total_seconds()
        bars.append(
            {
                "ti": ti,
                "x": LABEL_W + CHART_W * start / span,
                "w": max(2.0, CHART_W * length / span),
                "y": i * ROW_H,
                "seconds": length,
            }
        )
    return bars, span


@router.get("/dags/{dag_id}/gantt", response_class=HTMLResponse)
def dag_gantt(request: Request, dag_id: str, run_id: str = "") -> HTMLResponse:
    """When each task of a run started and how long it took."""
    user = require(request, Resource.DAG_RUN)
    env = env_of(request)
    with env.db.session(readonly=True) as session:
        dag, sdag = load_dag(session, dag_id)
        run = _run_or_latest(session, dag_id, run_id)
        tis = ui_queries.run_tis(session, dag_id, run.run_id) if run else []
        recent = ui_queries.grid(session, dag_id, limit=25).runs
    bars, span = gantt_bars(tis, env.now())
    return render(
        request,
        "gantt.html",
        user,
        dag=dag,
        sdag=sdag,
        run=run,
        recent=list(reversed(recent)),
        bars=bars,
        span=span,
        chart_w=CHART_W,
        row_h=ROW_H,
        label_w=LABEL_W,
        tab="gantt",
        title=f"{dag_id} - gantt",
    )


@router.get("/dags/{dag_id}/duration", response_class=HTMLResponse)
def dag_duration(request: Request, dag_id: str) -> HTMLResponse:
    """Each task's duration over the last runs, one polyline per task."""
    user = require(request, Resource.DAG_RUN)
    env = env_of(request)
    with env.db.session(readonly=True) as session:
        dag, sdag = load_dag(session, dag_id)
        runs, tis = ui_queries.task_durations(session, dag_id)
    column = {r.run_id: i for i, r in enumerate(runs)}
    longest = max((d for _, _, d in tis), default=0.0) or 1.0
    height, step = 260, CHART_W / max(len(runs) - 1, 1)
    series: dict[str, list[tuple[float, float, float]]] = {}
    for run_id, task_id, duration in sorted(tis, key=lambda t: column.get(t[0], 0)):
        if run_id in column:
            x = 50 + column[run_id] * step
            y = 10 + height - height * duration / longest
            series.setdefault(task_id, []).append((x, y, duration))
    palette = [
        "#1f77b4",
        "#ff7f0e",
        "#2ca02c",
        "#d62728",
        "#9467bd",
        "#8c564b",
        "#e377c2",
        "#7f7f7f",
    ]
    lines = [
        {"task_id": tid, "points": pts, "color": palette[i % len(palette)]}
        for i, (tid, pts) in enumerate(sorted(series.items()))
    ]
    return render(
        request,
        "duration.html",
        user,
        dag=dag,
        sdag=sdag,
        runs=runs,
        lines=lines,
        longest=longest,
        chart_h=height,
        chart_w=CHART_W,
        tab="duration",
        title=f"{dag_id} - task duration",
    )


@router.get("/dags/{dag_id}/code", response_class=HTMLResponse)
def dag_code(request: Request, dag_id: str) -> HTMLResponse:
    """The DAG file's source as the DAG processor stored it, highlighted."""
    user = require(request, Resource.DAG_CODE)
    env = env_of(request)
    with env.db.session(readonly=True) as session:
        dag, sdag = load_dag(session, dag_id)
        source = ui_queries.dag_source(session, dag.fileloc)
    code = highlight_python(source) if source is not None else None
    return render(
        request,
        "code.html",
        user,
        dag=dag,
        sdag=sdag,
        code=code,
        css=code_css(),
        tab="code",
        title=f"{dag_id} - code",
    )


def param_fields(sdag: Any) -> list[dict[str, Any]]:
    """One form field per DAG param: its input kind, default and choices."""
    fields = []
    for name, spec in (sdag.data.get("params") or {}).items():
        schema = spec.get("schema") or {}
        kind = schema.get("type", "string")
        kind = kind[0] if isinstance(kind, list) and kind else kind
        widget = (
            "enum"
            if "enum" in schema
            else kind
            if kind in ("boolean", "integer", "number")
            else "text"
        )
        if kind in ("object", "array"):
            widget = "json"
        fields.append(
            {
                "name": name,
                "widget": widget,
                "type": kind,
                "value": spec.get("value"),
                "description": spec.get("description") or "",
                "choices": schema.get("enum") or [],
            }
        )
    return fields


@router.get("/dags/{dag_id}/trigger", response_class=HTMLResponse)
def trigger_form(request: Request, dag_id: str) -> HTMLResponse:
    """A form built from the DAG's params, plus a conf JSON text area."""
    user = require(request, Resource.DAG_RUN, Action.CREATE)
    env = env_of(request)
    with env.db.session(readonly=True) as session:
        dag, sdag = load_dag(session, dag_id)
    return render(
        request,
        "trigger.html",
        user,
        dag=dag,
        sdag=sdag,
        fields=param_fields(sdag),
        conf_text="{}",
        error=None,
        tab="trigger",
        title=f"Trigger {dag_id}",
    )
