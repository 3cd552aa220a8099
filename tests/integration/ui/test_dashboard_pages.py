"""Dashboard details a user looks for: next run, run-state filters, favicon, grid order."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
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


def test_dag_details_show_every_attribute(client_for: Callable[[str], TestClient]) -> None:
    page = client_for("viewer").get("/dags/ok_dag/details").text
    table = page.split('id="dag-details"', 1)[1].split("</table>", 1)[0]
    names = re.findall(r'<th scope="row"><code>([a-z_]+)</code>', table)
    for name in ("dag_id", "description", "is_paused", "fileloc", "timetable_summary",
                 "max_active_runs", "max_active_tasks", "catchup", "start_date", "end_date",
                 "dagrun_timeout", "params", "tags", "owner", "schedule", "task_count"):  # fmt: skip
        assert name in names, name
    assert "&lt;script&gt;" in table and "<script>alert" not in table  # the param default, escaped


def test_calendar_colours_each_day_by_how_its_runs_ended(
    client_for: Callable[[str], TestClient],
) -> None:
    client = client_for("viewer")
    ok = client.get("/dags/ok_dag/calendar").text
    assert re.search(r'<rect class="day state-success" data-date="2026-03-01" data-runs="1"', ok)
    assert "2026-03-01: 1 success" in ok
    broken = client.get("/dags/broken_dag/calendar").text
    assert re.search(r'<rect class="day state-failed" data-date="2026-03-01"', broken)
    assert broken.count('class="day state-none"') > 300  # the other days of the year


def test_audit_log_of_one_dag(client_for: Callable[[str], TestClient]) -> None:
    from tests.integration.ui.conftest import csrf_of

    client = client_for("admin")
    token = csrf_of(client.get("/dags/ok_dag/grid").text)
    client.post("/dags/ok_dag/pause", data={"csrf_token": token, "paused": "false"})
    client.post("/dags/broken_dag/pause", data={"csrf_token": token, "paused": "false"})
    page = client.get("/dags/ok_dag/audit_log").text
    table = page.split('id="audit-log"', 1)[1].split("</table>", 1)[0]
    assert "admin" in table and table.count("<tr><td>") == 1
    assert client_for("viewer").get("/dags/ok_dag/audit_log").status_code == 403


def test_xcom_browser_filters_and_masks(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("viewer")
    page = client.get("/browse/xcoms", params={"dag_id": "ok_dag"}).text
    table = page.split('id="xcoms"', 1)[1].split("</table>", 1)[0]
    assert "hello-from-say" in table and "broken_dag" not in table
    none = client.get("/browse/xcoms", params={"dag_id": "ok_dag", "key": "nope"}).text
    assert "No XComs match." in none


def test_configuration_view_respects_expose_config(
    env: object, client_for: Callable[[str], TestClient]
) -> None:
    client = client_for("admin")
    hidden = client.get("/admin/config").text
    assert 'id="config-hidden"' in hidden and "[core]" not in hidden
    env.settings.set("api", "expose_config", True)  # type: ignore[attr-defined]
    shown = client.get("/admin/config").text
    assert "[core]" in shown and "dags_folder" in shown
    row = shown.split("<code>secret_key</code>", 1)[1].split("</tr>", 1)[0]
    assert "&lt; hidden &gt;" in row
    assert client_for("viewer").get("/admin/config").status_code == 403


def test_plugins_and_providers_page(
    client_for: Callable[[str], TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tradewind import plugins_manager

    # Plugins load once per process: scan this home's (empty) plugins folder afresh, whatever
    # an earlier test in this process loaded.
    monkeypatch.setattr(plugins_manager, "_loaded", None)
    page = client_for("admin").get("/admin/plugins").text
    assert "No plugins loaded." in page
    providers = page.split('id="providers"', 1)[1].split("</table>", 1)[0]
    assert "tradewind.operators.bash" in providers and "tradewind.sensors.filesystem" in providers
    assert client_for("viewer").get("/admin/plugins").status_code == 403
