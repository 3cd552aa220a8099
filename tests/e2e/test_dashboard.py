"""Dashboard pages in real Chromium against uvicorn over a metastore whose DAGs already ran.

No scheduler: the runs are made in process before the server starts, so each page shows data
at once. Screenshots go to ``$TRADEWIND_SCREENSHOTS_DIR`` (``docs/screenshots`` to refresh).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.integration.ui.conftest import BROKEN_DAG, NOW, PASSWORD, _make_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ORDERED_DAG = """
import datetime
from tradewind import DAG
from tradewind.operators.empty import EmptyOperator
from tradewind.utils.task_group import TaskGroup

with DAG("ordered_dag", schedule="@daily", start_date=datetime.datetime(2026, 2, 26, tzinfo=datetime.timezone.utc),
         catchup=True, tags=["demo"]):
    # Defined out of order on purpose: the grid must list them upstream first.
    end = EmptyOperator(task_id="z_end")
    with TaskGroup("load") as load:
        b = EmptyOperator(task_id="b")
        a = EmptyOperator(task_id="a")
        a >> b
    start = EmptyOperator(task_id="y_start")
    start >> load >> end
"""

RETRY_DAG = """
import datetime
from tradewind import DAG
from tradewind.operators.bash import BashOperator

with DAG("retry_dag", schedule="@daily", start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)):
    BashOperator(task_id="flaky", retries=1, bash_command='[ "{{ ti.try_number }}" -ge 2 ] || exit 1; sleep 0.3')
"""


def _skip_or_fail(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A home with a failed and a succeeded DAG, users, and uvicorn serving it on loopback."""
    try:
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError:
        _skip_or_fail("playwright is not installed")
    if not os.path.exists(CHROMIUM):
        _skip_or_fail(f"Chromium not found at {CHROMIUM}")
    import uvicorn
    from tests.integration.ui.conftest import build_app

    from tradewind.dag_processing.processor import DagProcessor
    from tradewind.dag_test import run_dag_in_process
    from tradewind.sdk.loader import load_file
    from tradewind.services.users import create_user

    home = tmp_path_factory.mktemp("dashboard")
    env = _make_env(home)
    with env.db.session() as s:
        create_user(s, "admin", "admin@example.com", "Ada", "Admin", PASSWORD, ["Admin"], NOW)
    folder = env.settings.dags_folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "broken_dag.py").write_text(BROKEN_DAG)
    (folder / "ordered_dag.py").write_text(ORDERED_DAG)
    (folder / "retry_dag.py").write_text(RETRY_DAG)
    DagProcessor(env.settings, env.db).run_once(force=True)
    for name in ("broken_dag", "ordered_dag", "retry_dag"):
        (dag,) = load_file(str(folder / f"{name}.py"), str(folder)).dags
        for day in range(3 if name == "retry_dag" else 1):
            when = NOW - timedelta(days=day)
            run_dag_in_process(dag, when, env=env, echo=False, no_retry_delay=True)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(build_app(env), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        yield {"url": f"http://127.0.0.1:{port}", "env": env}
    finally:
        server.should_exit = True
        thread.join(10)
        env.db.engine.dispose()


@pytest.fixture(scope="module")
def browser(site: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, site: dict[str, Any]) -> Iterator[Any]:
    """A logged-in admin page; console errors (CSP violations among them) are collected."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on(
        "console",
        lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None,  # type: ignore[attr-defined]
    )
    page.goto(site["url"] + "/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*:[0-9]+/(dags)?$"))
    yield page
    context.close()


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TRADEWIND_SCREENSHOTS_DIR") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_log_shows_the_exception_folds_the_traceback_filters_and_downloads(
    page: Any, site: dict[str, Any], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page.goto(site["url"] + "/dags/broken_dag/grid")
    page.locator('a.cell.state-failed[data-task-id="boom"]').click()
    log = page.locator("#log")
    summary = log.locator("details.traceback summary")
    expect(summary).to_have_text(
        "tradewind.errors.TradewindError: bash command failed: exit code 3"
    )
    traceback = log.locator("details.traceback pre")
    expect(traceback).to_be_hidden()  # folded ...
    summary.click()
    expect(traceback).to_be_visible()  # ... and one click away
    expect(traceback).to_contain_text("Traceback (most recent call last):")
    page.screenshot(path=str(shots(tmp_path) / "log_traceback.png"), full_page=True)

    info = log.locator(".line", has_text="about-to-fail")
    expect(info).to_be_visible()
    page.select_option("select.log-level", "error")
    expect(info).to_be_hidden()
    expect(log.locator(".line", has_text="Task failed with exception")).to_be_visible()

    with page.expect_download() as download_info:
        page.click("a.log-download")
    download = download_info.value
    assert download.suggested_filename.endswith("__boom__attempt_1.log")
    text = Path(download.path()).read_text()
    assert "about-to-fail" in text and "Traceback (most recent call last):" in text


MAIN_PAGES = [
    "/dags",
    "/dags/broken_dag/grid",
    "/dags/broken_dag/graph",
    "/dags/broken_dag/gantt",
    "/dags/broken_dag/duration",
    "/dags/broken_dag/code",
    "/dags/broken_dag/trigger",
    "/browse/runs",
    "/browse/task_instances",
    "/browse/events",
    "/browse/import_errors",
    "/assets",
    "/admin/variables",
    "/admin/connections",
    "/admin/pools",
    "/admin/users",
]


def test_main_pages_run_under_the_policy_without_violations(
    page: Any, site: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    for path in MAIN_PAGES:
        response = page.goto(site["url"] + path)
        assert response is not None and response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
    # The scripts still work under the policy: the grid panel loads, the run picker submits.
    page.goto(site["url"] + "/dags/broken_dag/grid")
    page.locator('a.cell[data-task-id="boom"]').click()
    expect(page.locator("#log")).to_contain_text("about-to-fail")
    page.goto(site["url"] + "/dags/broken_dag/gantt")
    with page.expect_navigation():
        page.select_option("select.autosubmit", index=0)
    violations = [m for m in page.console_errors if "Content Security Policy" in m]
    assert violations == []
    assert page.console_errors == []


def test_delete_asks_for_confirmation_without_inline_handlers(
    page: Any, site: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    page.goto(site["url"] + "/admin/pools")
    page.fill("input[name=pool]", "to_delete")
    page.fill("input[name=slots]", "3")
    page.locator("#pool-form button[type=submit]").click()
    row = page.locator("tr", has_text="to_delete")
    expect(row).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.locator("button.danger").click()
    expect(row).to_have_count(1)  # dismissed: still there
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button.danger").click()
    expect(page.locator("tr", has_text="to_delete")).to_have_count(0)
    assert page.console_errors == []


def _set_state(env: Any, dag_id: str, task_id: str, state: str) -> str:
    """Put one task instance of the DAG's newest run in ``state``; return the run id."""
    from sqlalchemy import text

    with env.db.session() as s:
        run_id = s.execute(
            text("SELECT run_id FROM dag_run WHERE dag_id = :d ORDER BY id DESC LIMIT 1"),
            {"d": dag_id},
        ).scalar_one()
        s.execute(
            text(
                "UPDATE task_instance SET state = :s WHERE dag_id = :d AND run_id = :r AND task_id = :t"
            ),
            {"s": state, "d": dag_id, "r": run_id, "t": task_id},
        )
    return str(run_id)


def test_grid_is_in_dependency_order_with_axis_bars_legend_and_linkable_cells(
    page: Any, site: dict[str, Any], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    run_id = _set_state(site["env"], "ordered_dag", "load.b", "running")
    try:
        page.goto(site["url"] + "/dags/ordered_dag/grid")
        names = page.locator("tbody th.task-col").all_text_contents()
        # Defined z_end, load(b, a), y_start; shown upstream first, the group's tasks together.
        assert [n.strip() for n in names] == ["y_start", "▾ load", "a", "b", "z_end"]
        expect(page.locator("tr.date-axis th.run-date span").first).to_have_text(
            re.compile(r"\d\d-\d\d")
        )
        bars = page.locator("a.run-bar rect.run-cell")
        assert bars.count() >= 1
        assert int(bars.first.get_attribute("height") or 0) >= 2
        legend = page.locator(".state-legend li").all_text_contents()
        assert "running" in legend and "success" in legend and "no status" in legend

        running = page.locator('a.cell[data-task-id="load.b"]').last
        success = page.locator('a.cell[data-task-id="load.a"]').last
        colour = "el => getComputedStyle(el).backgroundColor"
        assert running.evaluate(colour) != success.evaluate(colour)
        page.screenshot(path=str(shots(tmp_path) / "grid_order_legend.png"), full_page=True)

        success.click()
        expect(page.locator("#ti-state")).to_have_text("success")
        assert "task_id=load.a" in page.url and "run_id=" in page.url
        linked = page.url
        other = page.context.new_page()
        other.goto(linked)  # the address is a link to this task instance
        expect(other.locator(".ti-detail h2")).to_contain_text("load.a")
        other.close()
    finally:
        _set_state(site["env"], "ordered_dag", "load.b", "success")
    assert run_id


def test_gantt_has_queued_and_running_segments_and_a_time_axis(
    page: Any, site: dict[str, Any], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page.goto(site["url"] + "/dags/ordered_dag/gantt")
    gantt = page.locator("#gantt")
    expect(gantt.locator("rect.running-segment")).to_have_count(4)
    assert gantt.locator("rect.segment.queued").count() >= 1
    ticks = gantt.locator("text.tick").all_text_contents()
    assert re.fullmatch(r"\d\d:\d\d:\d\d", ticks[0]) and all(t.startswith("+") for t in ticks[1:])
    assert len(ticks) >= 3
    expect(gantt.locator("text.axis-title")).to_contain_text("Time (UTC)")
    page.screenshot(path=str(shots(tmp_path) / "gantt.png"), full_page=True)


def test_task_duration_has_axes_and_one_point_per_task_instance(
    page: Any, site: dict[str, Any], tmp_path: Path
) -> None:
    page.goto(site["url"] + "/dags/retry_dag/duration")
    chart = page.locator("#duration")
    points = chart.locator("circle.point")
    # Three runs of one task, each took two tries: three points, not six.
    assert points.count() == 3
    assert len({points.nth(i).get_attribute("data-run-id") for i in range(3)}) == 3
    y_labels = chart.locator("text.tick[text-anchor=end]").all_text_contents()
    assert y_labels[0] in ("0ms", "0s") and len(y_labels) >= 3
    x_labels = chart.locator("text.tick[text-anchor=middle]").all_text_contents()
    assert x_labels and all(re.fullmatch(r"\d\d-\d\d \d\d:\d\d", t) for t in x_labels)
    titles = chart.locator("text.axis-title").all_text_contents()
    assert any("Duration" in t for t in titles) and any("Run" in t for t in titles)
    page.screenshot(path=str(shots(tmp_path) / "duration.png"), full_page=True)


def test_views_airflow_users_look_for(page: Any, site: dict[str, Any], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    folder = shots(tmp_path)
    page.goto(site["url"] + "/dags/retry_dag/grid")
    page.click("nav.tabs >> text=Calendar")
    expect(page.locator("#calendar rect.day.state-success")).to_have_count(3)
    page.screenshot(path=str(folder / "calendar.png"), full_page=True)
    page.click("nav.tabs >> text=Details")
    expect(page.locator("#dag-details")).to_contain_text("max_active_runs")
    page.screenshot(path=str(folder / "dag_details.png"), full_page=True)
    page.click("nav.tabs >> text=Audit log")
    expect(page.locator("#audit-log")).to_be_visible()
    page.click("nav.tabs >> text=XComs")
    expect(page).to_have_url(re.compile(r"/browse/xcoms\?dag_id=retry_dag"))
    page.screenshot(path=str(folder / "xcoms.png"), full_page=True)
    page.click("nav.top >> text=Configuration")
    expect(page.locator("#config-hidden")).to_contain_text("expose_config")
    page.click("nav.top >> text=Plugins")
    expect(page.locator("#providers")).to_contain_text("tradewind.operators.bash")
    page.screenshot(path=str(folder / "plugins.png"), full_page=True)
    page.goto(site["url"] + "/dags")
    expect(page.locator('tr[data-dag-id="retry_dag"] .next-run.paused .run-after')).to_contain_text(
        "UTC"
    )
    page.screenshot(path=str(folder / "dags_next_run.png"), full_page=True)
    assert page.console_errors == []
