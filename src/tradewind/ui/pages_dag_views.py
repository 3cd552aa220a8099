"""A DAG's other views: graph, run details, Gantt, task durations, code, trigger form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from tradewind.core.permissions import Action, Resource
from tradewind.errors import NotFound
from tradewind.services import ui_queries
from tradewind.services.dags import DagService
from tradewind.services.run_service import RunService
from tradewind.ui import charts
from tradewind.ui.auth import env_of, require
from tradewind.ui.graph_layout import NODE_H, NODE_W, layout
from tradewind.ui.pages_dags import ACTIVE_STATES, dag_or_404
from tradewind.ui.rendering import highlight_python, render

router = APIRouter(include_in_schema=False)


def _run_view(env: Any, dag_id: str, run_id: str, recent: int = 0) -> tuple[Any, Any, Any]:
    """The named run (404 if unknown) or the DAG's newest run (or None), its task instances,
    and the ``recent`` newest runs."""
    try:
        return RunService(env).view(dag_id, run_id, recent=recent)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/dags/{dag_id}/graph", response_class=HTMLResponse)
def dag_graph(request: Request, dag_id: str, run_id: str = "") -> HTMLResponse:
    """Tasks and edges left to right, coloured by the selected run's states."""
    user = require(request, Resource.DAG)
    env = env_of(request)
    dag, sdag = dag_or_404(env, dag_id)
    run, tis, recent = _run_view(env, dag_id, run_id, 25)
    states, mapped = graph_states(tis)
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
        mapped=mapped,
        drawing=drawing,
        edge_info=sdag.data.get("edge_info") or {},
        node_w=NODE_W,
        node_h=NODE_H,
        active=run is not None and run.state in ACTIVE_STATES,
        tab="graph",
        title=f"{dag_id} - graph",
    )


def graph_states(tis: list[Any]) -> tuple[dict[str, str | None], dict[str, int]]:
    """Each task's state in a run (a mapped task's most alarming one) and, for mapped tasks,
    how many instances they have."""
    states: dict[str, str | None] = {}
    counts: dict[str, dict[str, int]] = {}
    for ti in tis:
        if ti.map_index < 0:
            states[ti.task_id] = ti.state
            continue
        by_state = counts.setdefault(ti.task_id, {})
        by_state[ti.state or "none"] = by_state.get(ti.state or "none", 0) + 1
    for task_id, by_state in counts.items():
        states[task_id] = ui_queries.mapped_state(by_state)
    return states, {t: sum(c.values()) for t, c in counts.items()}


@router.get("/dags/{dag_id}/run", response_class=HTMLResponse)
def run_details(request: Request, dag_id: str, run_id: str) -> HTMLResponse:
    """One run: its state, dates, conf, note and task instances."""
    user = require(request, Resource.DAG_RUN)
    env = env_of(request)
    dag, sdag = dag_or_404(env, dag_id)
    run, tis, _ = _run_view(env, dag_id, run_id)
    tis = tis if run_id else []  # no run named: the newest run, but no task list
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
    dag, sdag = dag_or_404(env, dag_id)
    run, tis, recent = _run_view(env, dag_id, run_id, 25)
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
    dag, sdag = dag_or_404(env, dag_id)
    runs, tis = RunService(env).task_durations(dag_id)
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
    dag, sdag = dag_or_404(env, dag_id)
    _, source, _ = DagService(env).code(dag_id)
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
    dag, sdag = dag_or_404(env, dag_id)
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
