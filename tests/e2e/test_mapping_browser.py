"""In Chromium: a mapped task's grid row, its list of instances, one instance's log, and back."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.test_browser import ARGS, CHROMIUM, PASSWORD, _free_port, _login, _shots, _wait

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _skip_or_fail(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A home whose mapped DAG already ran (in process), served by uvicorn in a thread."""
    try:
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError:
        _skip_or_fail("playwright is not installed")
    if not os.path.exists(CHROMIUM):
        _skip_or_fail(f"Chromium not found at {CHROMIUM}")
    import uvicorn
    from tests.integration.ui.conftest import build_app

    from tradewind import DAG, task
    from tradewind.dag_test import run_dag_in_process
    from tradewind.services.env import Env
    from tradewind.services.install import write_config_file
    from tradewind.services.users import create_user
    from tradewind.settings import load_settings

    home = tmp_path / "home"
    settings = load_settings(home, environ={})
    write_config_file(settings)
    env = Env.from_settings(load_settings(home, environ={}), wake=lambda *_: None)
    env.db.migrate()
    with env.db.session() as s:
        create_user(
            s, "admin", "a@example.com", "Ada", "Admin", PASSWORD, ["Admin"], datetime.now(UTC)
        )
    with DAG("fan_browser", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:

        @task
        def files() -> list[str]:
            return ["a.csv", "b.csv", "c.csv", "d.csv"]

        @task(map_index_template="file {{ task.op_kwargs['name'] }}")
        def load(name: str) -> int:
            if name == "c.csv":
                raise ValueError("c.csv is corrupt")
            print(f"loading {name}")
            return len(name)

        load.expand(name=files())
    run = run_dag_in_process(dag, datetime(2026, 2, 1, tzinfo=UTC), env=env, echo=False)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(build_app(env), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _wait(lambda: server.started, 15, "uvicorn to start")
        yield {"url": f"http://127.0.0.1:{port}", "run_id": run.run_id}
    finally:
        server.should_exit = True
        thread.join(10)
        env.db.engine.dispose()


def test_open_a_mapped_task_then_one_instance_and_go_back(
    served: dict[str, Any], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, shots = served["url"], _shots(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors: list[str] = []
        page.on("response", lambda r: errors.append(r.url) if r.status >= 400 else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        _login(page, url, "admin")
        page.goto(url + "/dags/fan_browser/grid")
        cell = page.locator('a.cell.mapped[data-task-id="load"]')
        expect(cell).to_have_count(1)
        expect(cell).to_have_class("cell mapped state-failed")
        expect(cell).to_have_text("4")
        expect(cell).to_have_attribute("data-counts", "3 success, 1 failed")
        # what the live refresh does with a running run's counts (app.js -> mapping.js)
        page.evaluate(
            "() => window.tradewindMapped.recount(document.querySelector('a.cell.mapped'),"
            " {success: 2, running: 1, queued: 2})"
        )
        expect(cell).to_have_text("5")
        expect(cell).to_have_attribute("title", "load · 5 mapped: 2 queued, 2 success, 1 running")
        page.reload()
        cell.click()
        rows = page.locator("table.mapped-instances tr")
        expect(rows).to_have_count(5)  # header + 4 instances
        expect(page.locator("#details")).to_contain_text("file c.csv")
        page.screenshot(path=str(shots / "mapped_list.png"), full_page=True)
        page.locator('a.mapped-instance[data-map-index="1"]').click()
        expect(page.locator("#log")).to_contain_text("loading b.csv")
        expect(page.locator(".ti-detail .rendered-name")).to_have_text("file b.csv")
        assert "map_index=1" in page.url
        page.screenshot(path=str(shots / "mapped_instance.png"), full_page=True)
        page.locator("a.mapped-back").click()
        expect(page.locator("table.mapped-instances tr")).to_have_count(5)
        page.locator('a.mapped-instance[data-map-index="2"]').click()
        expect(page.locator("#ti-state")).to_have_text("failed")
        expect(page.locator("#log")).to_contain_text("Task failed with exception")
        browser.close()
    assert not errors, errors
