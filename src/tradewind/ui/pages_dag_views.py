"""A DAG's other views: graph, run details, Gantt, task durations, code, trigger form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from tradewind.core.permissions import Action, Resource
from tradewind.errors import NotFound
from tradewind.services import ui_queries
from tradewind.services.runs import get_run
from tradewind.ui import charts
from tradewind.ui.auth import env_of, require
from tradewind.ui.graph_layout import NODE_H, NODE_W, layout
from tradewind.ui.pages_dags import ACTIVE_STATES, load_dag
from tradewind.ui.rendering import highlight_python, render

router = APIRouter(include_in_schema=False)


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
        dag, sdag = load_dag(session, dag_id, env.now())
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
        dag, sdag = load_dag(session, dag_id, env.now())
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


@router.get("/dags/{dag_id}/gantt", response_class=HTMLResponse)
def dag_gantt(request: Request, dag_id: str, run_id: str = "") -> HTMLResponse:
    """When each task of a run started and how long it took."""
    user = require(request, Resource.DAG_RUN)
    env = env_of(request)
    with env.db.session(readonly=True) as session:
        dag, sdag = load_dag(session, dag_id, env.now())
        run = _run_or_latest(session, dag_id, run_id)
        tis = ui_queries.run_tis(session, dag_id, run.run_id) if run else []
        recent = ui_queries.grid(session, dag_id, limit=25).runs
    chart = charts.gantt(tis, env.now())
    return render(
        request,
        "gantt.html",
        user,
        dag=dag,
        sdag=sdag,
        run=run,
        recent=list(reversed(recent)),
        chart=chart,
        chart_w=charts.CHART_W,
        row_h=charts.ROW_H,
        label_w=charts.LABEL_W,
        tab="gantt",
        title=f"{dag_id} - gantt",
    )


@router.get("/dags/{dag_id}/duration", response_class=HTMLResponse)
def dag_duration(request: Request, dag_id: str) -> HTMLResponse:
    """Each task's duration over the last runs: one point per task instance, one line per task."""
    user = require(request, Resource.DAG_RUN)
    env = env_of(request)
    with env.db.session(readonly=True) as session:
        dag, sdag = load_dag(session, dag_id, env.now())
        runs, tis = ui_queries.task_durations(session, dag_id)
    chart = charts.duration_chart(runs, tis)
    return render(
        request,
        "duration.html",
        user,
        dag=dag,
        sdag=sdag,
        runs=runs,
        chart=chart,
        chart_h=charts.DURATION_H,
        chart_w=charts.CHART_W,
        left=charts.DURATION_LEFT,
        tab="duration",
        title=f"{dag_id} - task duration",
    )


@router.get("/dags/{dag_id}/code", response_class=HTMLResponse)
def dag_code(request: Request, dag_id: str) -> HTMLResponse:
    """The DAG file's source as the DAG processor stored it, highlighted."""
    user = require(request, Resource.DAG_CODE)
    env = env_of(request)
    with env.db.session(readonly=True) as session:
        dag, sdag = load_dag(session, dag_id, env.now())
        source = ui_queries.dag_source(session, dag.fileloc)
    code = highlight_python(source) if source is not None else None
    return render(
        request,
        "code.html",
        user,
        dag=dag,
        sdag=sdag,
        code=code,
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
        dag, sdag = load_dag(session, dag_id, env.now())
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
