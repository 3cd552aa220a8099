"""A DAG's Monitor tab: run duration over time, each task's scheduling latency, missed
deadlines."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tradewind.core.permissions import Resource
from tradewind.services import monitoring
from tradewind.services.deadlines import missed_deadlines
from tradewind.services.latency import STAGES, task_latencies
from tradewind.ui.auth import env_of, require
from tradewind.ui.pages_dags import load_dag
from tradewind.ui.rendering import render

router = APIRouter(include_in_schema=False)
CHART_W, CHART_H = 720, 200


@router.get("/dags/{dag_id}/monitor", response_class=HTMLResponse)
def dag_monitor(request: Request, dag_id: str, run_id: str = "") -> HTMLResponse:
    """Run durations over time, the scheduling latency of a run's tasks, missed deadlines."""
    user = require(request, Resource.DAG_RUN)
    env = env_of(request)
    with env.db.session(readonly=True) as session:
        dag, sdag = load_dag(session, dag_id, env.now())
        durations = monitoring.run_durations(session, dag_id)
        run_id = run_id or monitoring.latest_run_id(session, dag_id) or ""
        latency = task_latencies(session, sdag, dag_id, run_id) if run_id else {}
        deadlines = missed_deadlines(session, dag_id)
    points, longest = monitoring.chart_points(durations, CHART_W, CHART_H)
    order = [t for t in sdag.topological_order() if t in latency]
    return render(
        request,
        "dag_monitor.html",
        user,
        dag=dag,
        sdag=sdag,
        points=points,
        longest=longest,
        chart_w=CHART_W,
        chart_h=CHART_H,
        run_id=run_id,
        latency=[(t, latency[t]) for t in order],
        stages=STAGES,
        deadlines=deadlines,
        tab="monitor",
        title=f"{dag_id} - monitor",
    )
