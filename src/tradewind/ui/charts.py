"""Geometry of the SVG charts (Gantt, task duration): bars, points and readable axes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

CHART_W, ROW_H, LABEL_W = 760, 22, 200
DURATION_H, DURATION_LEFT = 260, 70
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
#: Tick steps in seconds: 1-2-5 below a minute, then clock-friendly steps.
_STEPS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120,
          300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]  # fmt: skip


def nice_step(span: float, ticks: int = 6) -> float:
    """The smallest readable step giving at most ``ticks`` intervals over ``span`` seconds."""
    for step in _STEPS:
        if span / step <= ticks:
            return step
    return _STEPS[-1] * max(1, round(span / _STEPS[-1] / ticks))


def short_duration(seconds: float) -> str:
    """A tick label: ``250ms``, ``1.5s``, ``2m``, ``1h30m``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s" if secs else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"


def gantt(tis: list[Any], now: datetime) -> dict[str, Any]:
    """Rows of a Gantt chart: a queued segment then a running one per task instance, and ticks."""
    shown = [t for t in tis if t.start_date is not None or t.queued_dttm is not None]
    if not shown:
        return {"bars": [], "ticks": [], "span": 0.0}
    t0: datetime = min(t.queued_dttm or t.start_date for t in shown)
    t1: datetime = max((t.end_date or now) for t in shown)
    span = max((t1 - t0).total_seconds(), 0.001)

    def x(when: datetime) -> float:
        return LABEL_W + CHART_W * (when - t0).total_seconds() / span

    bars = []
    ordered = sorted(shown, key=lambda t: (t.start_date or t.queued_dttm, t.task_id))
    for i, ti in enumerate(ordered):
        queued_at = ti.queued_dttm
        started, ended = ti.start_date, ti.end_date or now
        bar: dict[str, Any] = {"ti": ti, "y": i * ROW_H, "queued": None, "running": None}
        if queued_at is not None:
            until = started or now
            if until > queued_at:
                bar["queued"] = {
                    "x": x(queued_at),
                    "w": max(1.0, x(until) - x(queued_at)),
                    "seconds": (until - queued_at).total_seconds(),
                }
        if started is not None:
            bar["running"] = {
                "x": x(started),
                "w": max(2.0, x(ended) - x(started)),
                "seconds": (ended - started).total_seconds(),
            }
        bars.append(bar)
    step = nice_step(span)
    ticks = []
    offset = 0.0
    while offset <= span + 1e-9:
        when = t0 + timedelta(seconds=offset)
        ticks.append(
            {
                "x": LABEL_W + CHART_W * offset / span,
                "label": "+" + short_duration(offset) if offset else when.strftime("%H:%M:%S"),
            }
        )
        offset += step
    return {"bars": bars, "ticks": ticks, "span": span, "start": t0}


def duration_chart(runs: list[Any], tis: list[tuple[str, str, float]]) -> dict[str, Any]:
    """One point per task instance (x: its run, y: its duration), axes with ticks and labels."""
    runs = sorted(runs, key=lambda r: (r.logical_date or r.run_after, r.id))
    column = {r.run_id: i for i, r in enumerate(runs)}
    longest = max((d for _, _, d in tis), default=0.0) or 1.0
    step_y = nice_step(longest, 5)
    top = step_y * max(1, -(-longest // step_y))  # round the axis up to a whole step
    step_x = CHART_W / max(len(runs) - 1, 1)
    series: dict[str, list[tuple[float, float, float, str]]] = {}
    for run_id, task_id, duration in sorted(tis, key=lambda t: column.get(t[0], 0)):
        if run_id in column:
            px = DURATION_LEFT + column[run_id] * step_x
            py = 10 + DURATION_H - DURATION_H * duration / top
            series.setdefault(task_id, []).append((px, py, duration, run_id))
    lines = [
        {"task_id": tid, "points": pts, "color": PALETTE[i % len(PALETTE)]}
        for i, (tid, pts) in enumerate(sorted(series.items()))
    ]
    y_ticks = []
    value = 0.0
    while value <= top + 1e-9:
        y_ticks.append(
            {"y": 10 + DURATION_H - DURATION_H * value / top, "label": short_duration(value)}
        )
        value += step_y
    every = max(1, -(-len(runs) // 8))  # at most ~8 date labels
    x_ticks = [
        {
            "x": DURATION_LEFT + i * step_x,
            "label": _run_label(run),
        }
        for i, run in enumerate(runs)
        if i % every == 0 or i == len(runs) - 1
    ]
    return {"lines": lines, "y_ticks": y_ticks, "x_ticks": x_ticks, "top": top}


def _run_label(run: Any) -> str:
    when: datetime | None = run.logical_date or run.run_after
    return when.strftime("%m-%d %H:%M") if when else str(run.run_id)[:12]
