"""Dashboard details a user looks for: next run, run-state filters, favicon, grid order."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient


def test_next_run_shows_run_after_with_timezone_and_logical_date_greyed_when_paused(
    client_for: Callable[[str], TestClient],
) -> None:
    client = client_for("viewer")
    page = client.get("/dags").text
    row = page[page.index('data-dag-id="ok_dag"') :].split("</tr>", 1)[0]
    cell = row.split('class="next-run-cell">', 1)[1].split("</td>", 1)[0]
    assert 'class="next-run paused"' in cell  # DAGs are paused at creation
    run_after = re.search(r'<span class="run-after">([^<]+)</span>', cell).group(1)  # type: ignore[union-attr]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", run_after)
    assert re.search(r"logical date \d{4}-\d\d-\d\d", cell)
    header = client.get("/dags/ok_dag/grid").text
    assert f'<span class="run-after">{run_after}</span>' in header
    # broken_dag has no schedule: no next run at all.
    broken = page[page.index('data-dag-id="broken_dag"') :].split("</tr>", 1)[0]
    assert "run-after" not in broken


def test_dag_run_state_filter_offers_run_states_only(
    client_for: Callable[[str], TestClient],
) -> None:
    page = client_for("viewer").get("/browse/runs").text
    options = re.findall(r'<option value="([a-z_]+)"', page.split('name="state"', 1)[1])
    assert options[:4] == ["queued", "running", "success", "failed"] and len(options) == 4
    tis = client_for("viewer").get("/browse/task_instances").text
    assert 'value="up_for_retry"' in tis  # task-instance filters keep every TI state


def test_favicon_is_linked_and_served(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("viewer")
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/dags").text
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert icon.text.startswith("<svg")


def test_grid_has_a_date_axis_run_bars_and_a_legend(
    client_for: Callable[[str], TestClient],
) -> None:
    grid = client_for("viewer").get("/dags/ok_dag/grid").text
    assert 'class="date-axis"' in grid and "<span>03-01</span>" in grid
    assert re.search(r'<rect class="run-cell state-success"[^>]+height="\d+"', grid)
    legend = grid.split('class="legend state-legend"', 1)[1].split("</ul>", 1)[0]
    for state in ("success", "running", "failed", "queued", "no status"):
        assert state in legend
    rows = re.findall(r'<span class="task-name[^"]*">([^<]+)</span>', grid)
    assert rows == ["start", "say"]
