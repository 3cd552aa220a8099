"""A DAG's Monitor tab: run duration over time, each task's scheduling latency, missed
deadlines."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tradewind.core.permissions import Resource
from tradewind.services import monitoring
from tradewind.services.latency import STAGES
from tradewind.ui.auth import env_of, require
from tradewind.ui.pages_dags import dag_or_404
from tradewind.ui.rendering import render

router = APIRouter(include_in_schema=False)
CHART_W, CHART_H = 720, 200


@router.get("/dags/{dag_id}/monitor", response_class=HTMLResponse)
def dag_monitor(request: Request, dag_id: str, run_id: str = "") -> HTMLResponse:
    """Run durations over time, the scheduling latency of a run's tasks, missed deadlines."""
    user = require(request, Resource.DAG_RUN)
    env = env_of(request)
    dag, sdag = dag_or_404(env, dag_id)
    seen = monitoring.MonitorService(env).dag(dag_id, sdag, run_id)
    run_id, latency = seen.run_id, seen.latency
    points, longest = monitoring.chart_points(seen.durations, CHART_W, CHART_H)
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
        deadlines=seen.deadlines,
        tab="monitor",
        title=f"{dag_id} - monitor",
    )
