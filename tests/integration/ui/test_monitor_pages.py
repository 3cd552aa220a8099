"""The home page's health strip and "failed in the last 24 h" filter; a DAG's Monitor tab."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from tradewind.services import queueing
from tradewind.services.env import Env


def test_home_page_shows_component_health(
    env: Env, client_for: Callable[[str], TestClient]
) -> None:
    client = client_for("viewer")
    html = client.get("/dags").text
    assert "Scheduler: not running" in html and "DAG processor: not running" in html
    with env.db.session() as s:
        queueing.register_job(s, "SchedulerJob", env.now(), exclusive=False, dead_after=30)
        stale = queueing.register_job(
            s, "TriggererJob", env.now() - timedelta(minutes=5), exclusive=False, dead_after=30
        )
        assert stale
    html = client.get("/dags").text
    assert re.search(r"Scheduler: healthy <small>\(heartbeat \d", html)
    assert "Triggerer: unhealthy" in html


def test_failed_in_the_last_24_hours_filter(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("viewer")
    html = client.get("/dags", params={"status": "failed_24h"}).text
    assert 'data-dag-id="broken_dag"' in html and 'data-dag-id="ok_dag"' not in html
    assert "failed in the last 24 h" in html
    assert client.get("/dags", params={"status": "nonsense"}).status_code == 422


def test_monitor_tab_shows_run_durations_and_latency(
    client_for: Callable[[str], TestClient],
) -> None:
    client = client_for("viewer")
    page = client.get("/dags/ok_dag/monitor")
    assert page.status_code == 200
    html = page.text
    assert 'class="duration run-duration"' in html and "<circle" in html
    rows = re.findall(r"<tr><td>(\w+)</td>((?:<td class=\"num\">[^<]*</td>){3})", html)
    assert [r[0] for r in rows] == ["start", "say"]  # in task order
    assert all(cell.count(" ms") == 3 for _, cell in rows)
    assert "No missed deadlines (this DAG declares none)" in html
    assert "<script" not in html.split("</head>", 1)[1].replace('<script src="', "")
    assert client.get("/dags/nope/monitor").status_code == 404
