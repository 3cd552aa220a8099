"""The dashboard on mapped tasks: one grid row counting instances by state, the panel listing
instances by rendered name, one instance's log and XCom, clear/mark of one instance, and the
graph's instance count."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tradewind import DAG, task
from tradewind.dag_test import run_dag_in_process
from tradewind.services.env import Env

from .conftest import csrf_of

DAY = datetime(2026, 2, 1, tzinfo=UTC)


def _run_mapped(env: Env) -> str:
    with DAG("fan_ui", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:

        @task
        def items() -> list[str]:
            return ["red", "green", "<b>blue</b>"]

        @task(map_index_template="colour {{ task.op_kwargs['c'] }}", retry_delay=timedelta(0))
        def paint(c: str) -> str:
            if c == "green":
                raise ValueError("no green paint")
            print(f"painting {c}")
            return c.upper()

        paint.expand(c=items())
    return run_dag_in_process(dag, DAY, env=env, echo=False, no_retry_delay=True).run_id


def test_grid_row_panel_instance_and_graph(
    env: Env, client_for: Callable[[str], TestClient]
) -> None:
    run_id = _run_mapped(env)
    client = client_for("admin")
    grid = client.get("/dags/fan_ui/grid").text
    row = re.search(
        r'<tr class="task-row"[^>]*>\s*<th[^>]*>\s*<span[^>]*>paint</span>(.*?)</tr>', grid, re.S
    )
    assert row, grid
    assert 'class="mapped-mark"' in row.group(1)
    cell = re.search(
        r'<a class="cell mapped state-(\w+)"[^>]*title="([^"]+)"[^>]*>(.*?)</a>', row.group(1)
    )
    assert cell and cell.group(1) == "failed"
    assert cell.group(2) == "paint · 3 mapped: 2 success, 1 failed"
    assert '<span class="map-count">3</span>' in cell.group(3)
    assert '<script src="/static/mapping.js"></script>' in grid

    panel = client.get("/dags/fan_ui/ti", params={"run_id": run_id, "task_id": "paint"}).text
    assert "[3 mapped]" in panel and "2 success, 1 failed" in panel
    names = re.findall(r"<td>(colour [^<]*)</td>", panel)
    assert names == ["colour red", "colour green", "colour &lt;b&gt;blue&lt;/b&gt;"]
    assert "<b>blue</b>" not in panel  # user text is escaped

    one = client.get(
        "/dags/fan_ui/ti", params={"run_id": run_id, "task_id": "paint", "map_index": 2}
    ).text
    assert "[2]" in one and "colour &lt;b&gt;blue&lt;/b&gt;" in one
    assert "painting &lt;b&gt;blue&lt;/b&gt;" in one  # its own log
    assert "&lt;B&gt;BLUE&lt;/B&gt;" in one  # its own XCom
    assert "all mapped instances" in one
    page = client.get(
        "/dags/fan_ui/grid", params={"run_id": run_id, "task_id": "paint", "map_index": 0}
    ).text
    assert "painting red" in page

    run_page = client.get("/dags/fan_ui/run", params={"run_id": run_id}).text
    assert (
        "paint [0]" in run_page and "paint [2]" in run_page and "&map_index=1#details" in run_page
    )

    graph = client.get("/dags/fan_ui/graph", params={"run_id": run_id}).text
    assert re.search(r'<tspan class="map-count" data-count="3">\[3\]</tspan>', graph)
    assert 'class="state-failed"' in graph


def test_clear_and_mark_one_instance_from_the_panel(
    env: Env, client_for: Callable[[str], TestClient]
) -> None:
    run_id = _run_mapped(env)
    client = client_for("admin")
    page = client.get("/dags/fan_ui/grid").text
    form: dict[str, Any] = {
        "csrf_token": csrf_of(page),
        "run_id": run_id,
        "task_id": "paint",
        "map_index": "1",
        "state": "success",
    }
    assert client.post("/dags/fan_ui/mark", data=form, follow_redirects=False).status_code == 303
    states = _states(env, run_id)
    assert states == {0: "success", 1: "success", 2: "success"}
    form.pop("state")
    form["map_index"] = "2"
    assert client.post("/dags/fan_ui/clear", data=form, follow_redirects=False).status_code == 303
    assert _states(env, run_id) == {0: "success", 1: "success", 2: None}


def _states(env: Env, run_id: str) -> dict[int, str | None]:
    from tradewind.services.runs import task_states

    with env.db.session(readonly=True) as s:
        return {
            t.map_index: t.state for t in task_states(s, "fan_ui", run_id) if t.task_id == "paint"
        }
