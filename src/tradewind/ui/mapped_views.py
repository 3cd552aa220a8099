"""The dashboard's view of mapped tasks: a grid cell that counts instances by state, and the
details panel's list of instances (each with its rendered name, opening its own panel)."""

from __future__ import annotations

import html
from typing import Any

from tradewind.services import ui_queries


def counts_text(counts: dict[str, int]) -> str:
    """``3 success, 1 failed``: the instances of a mapped task by state, biggest first."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{n} {state}" for state, n in items)


def mapped_cell(
    esc_task: str, q_task: str, esc_run: str, q_run: str, counts: dict[str, int]
) -> str:
    """One grid cell of a mapped task: its most alarming state, the total, counts on hover."""
    state = html.escape(ui_queries.mapped_state(counts))
    total = sum(counts.values())
    summary = html.escape(counts_text(counts))
    return (
        f'<td><a class="cell mapped state-{state}" data-run-id="{esc_run}" '
        f'data-task-id="{esc_task}" data-counts="{summary}" '
        f'href="?run_id={q_run}&amp;task_id={q_task}#details" '
        f'title="{esc_task} · {total} mapped: {summary}">'
        f'<span class="map-count">{total}</span></a></td>'
    )


def mapped_list_context(env: Any, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
    """What the details panel shows for a mapped task: its instances, with counts."""
    from tradewind.services.task_instance_service import TaskInstanceService

    tis = TaskInstanceService(env).mapped(dag_id, run_id, task_id)
    counts: dict[str, int] = {}
    for ti in tis:
        counts[ti.state or "none"] = counts.get(ti.state or "none", 0) + 1
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": task_id,
        "instances": tis,
        "summary": counts_text(counts) if tis else "not expanded yet",
        "total": len(tis),
    }
