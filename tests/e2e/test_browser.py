"""The dashboard in a real browser: Chromium (Playwright) against uvicorn and a real scheduler.

A user logs in, triggers a DAG whose task fails until a marker file exists, finds the failed
DAG first on the DAGs page, opens its grid, reads the task's log, clears the task and watches
it succeed without reloading. A Viewer sees no trigger button and gets 403 when posting anyway.
Screenshots go to ``$TRADEWIND_SCREENSHOTS_DIR`` (``docs/screenshots`` when refreshing them).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

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
PASSWORD = "browser-test-password"

FLAKY = """
import datetime
from tradewind import DAG
from tradewind.operators.bash import BashOperator

with DAG("flaky_dag", schedule=None, start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
         tags=["demo"], doc_md="Fails until **{marker}** exists."):
    check = BashOperator(task_id="check_marker", bash_command="echo looking for marker; test -f {marker}")
    check >> BashOperator(task_id="report", bash_command="echo all good")
"""
STEADY = """
import datetime
from tradewind import DAG
from tradewind.operators.empty import EmptyOperator
from tradewind.utils.task_group import TaskGroup

with DAG("steady_dag", schedule="@daily", start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
         catchup=False, tags=["demo"]):
    with TaskGroup("load") as load:
        EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
    EmptyOperator(task_id="start") >> load >> EmptyOperator(task_id="end")
"""


def _skip_or_fail(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A home with two DAG files, a scheduler subprocess and a uvicorn server thread."""
    try:
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError:
        _skip_or_fail("playwright is not installed")
    if not os.path.exists(CHROMIUM):
        _skip_or_fail(f"Chromium not found at {CHROMIUM}")
    import uvicorn
    from tests.integration.ui.conftest import build_app

    from tradewind.services.env import Env
    from tradewind.services.install import write_config_file
    from tradewind.services.users import create_user
    from tradewind.settings import load_settings

    home = tmp_path / "home"
    environ = {"TRADEWIND__CORE__DAGS_ARE_PAUSED_AT_CREATION": "false"}
    settings = load_settings(home, environ=environ)
    write_config_file(settings)
    settings = load_settings(home, environ=environ)
    marker = tmp_path / "marker"
    settings.dags_folder.mkdir(parents=True, exist_ok=True)
    (settings.dags_folder / "flaky_dag.py").write_text(FLAKY.replace("{marker}", str(marker)))
    (settings.dags_folder / "steady_dag.py").write_text(STEADY)
    env = Env.from_settings(settings)
    env.db.migrate()
    now = datetime.now(UTC)
    with env.db.session() as s:
        create_user(s, "admin", "admin@example.com", "Ada", "Admin", PASSWORD, ["Admin"], now)
        create_user(s, "viewer", "viewer@example.com", "Vic", "Viewer", PASSWORD, ["Viewer"], now)
    child_env = {**os.environ, "TRADEWIND_HOME": str(home), **environ}
    log = open(tmp_path / "scheduler.log", "w")  # noqa: SIM115 - closed in the finally below
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "tradewind.cli.main", "scheduler"],
        env=child_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(build_app(env), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _wait(lambda: server.started, 15, "uvicorn to start")
        yield {
            "url": f"http://127.0.0.1:{port}",
            "marker": marker,
            "env": env,
            "log": tmp_path / "scheduler.log",
        }
    finally:
        server.should_exit = True
        thread.join(10)
        os.killpg(scheduler.pid, signal.SIGTERM)
        try:
            scheduler.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(scheduler.pid, signal.SIGKILL)
        log.close()
        env.db.engine.dispose()


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TRADEWIND_SCREENSHOTS_DIR") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _login(page: Any, url: str, username: str) -> None:
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*:[0-9]+/(dags)?$"))


def test_find_the_failure_read_its_log_clear_it_and_see_it_succeed(
    stack: dict[str, Any], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, shots = stack["url"], _shots(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url + "/dags/flaky_dag/grid")
        expect(page.locator("input[name=username]")).to_be_visible()
        page.screenshot(path=str(shots / "login.png"))
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        # next= brought us back to the page we asked for; the DAG processor may still be parsing.
        for _ in range(100):
            if page.locator("#trigger-link").count():
                break
            time.sleep(0.3)
            page.reload()
        page.click("#trigger-link")
        page.screenshot(path=str(shots / "trigger.png"))
        page.click("#trigger-submit")
        failed = page.locator('a.cell.state-failed[data-task-id="check_marker"]')
        expect(failed).to_have_count(1, timeout=60_000)  # live refresh, no reload

        page.goto(url + "/dags")
        first = page.locator("table.dags tbody tr").first
        expect(first).to_have_attribute("data-dag-id", "flaky_dag")
        expect(first).to_have_class(re.compile("failing"))
        page.screenshot(path=str(shots / "dags.png"), full_page=True)

        first.locator("a.dag-link").click()
        page.locator('a.cell.state-failed[data-task-id="check_marker"]').click()
        expect(page.locator("#log")).to_contain_text("looking for marker", timeout=10_000)
        page.screenshot(path=str(shots / "log.png"), full_page=True)

        stack["marker"].write_text("ok")
        page.check("input[name=downstream]")  # report was upstream_failed: run it again too
        page.click("#clear-button")
        expect(page.locator("#ti-state")).to_have_text("success", timeout=60_000)
        expect(page.locator('a.cell[data-task-id="report"]').last).to_have_class(
            re.compile("state-success"), timeout=30_000
        )
        page.locator("#details").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "grid.png"), full_page=True)
        page.goto(url + "/dags/flaky_dag/graph")
        expect(page.locator('g[data-task-id="report"] rect')).to_have_class("state-success")
        page.goto(url + "/dags/steady_dag/graph")
        page.screenshot(path=str(shots / "graph.png"))
        browser.close()


def test_viewer_cannot_trigger(stack: dict[str, Any]) -> None:
    from playwright.sync_api import expect, sync_playwright

    url = stack["url"]
    _wait(lambda: _parsed(stack["env"], "flaky_dag"), 60, "the DAG processor to store flaky_dag")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        _login(page, url, "viewer")
        page.goto(url + "/dags/flaky_dag/grid")
        expect(page.locator("h1")).to_contain_text("flaky_dag")
        expect(page.locator("#trigger-link")).to_have_count(0)
        status = page.evaluate(
            """async () => {
                const token = document.querySelector('input[name=csrf_token]').value;
                const body = new URLSearchParams({csrf_token: token});
                const r = await fetch('/dags/flaky_dag/trigger', {method: 'POST', body});
                return r.status;
            }"""
        )
        assert status == 403
        browser.close()


def _parsed(env: Any, dag_id: str) -> bool:
    from tradewind.services.dags import list_dags

    with env.db.session(readonly=True) as s:
        return any(d.dag_id == dag_id for d in list_dags(s))
