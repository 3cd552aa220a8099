"""Metrics on the wire from a real `tradewind scheduler` process: StatsD datagrams caught by a
UDP listener, and a Prometheus scrape of the web server's /metrics parsed with
prometheus-client's own parser."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.statsd_listener import StatsdListener

from tradewind.services import runs as run_service

from .conftest import Home

pytestmark = pytest.mark.slow

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

DAG_FILE = """
from datetime import datetime
from tradewind import DAG
from tradewind.operators.python import PythonOperator

def fail():
    raise RuntimeError("no")

with DAG("wired", schedule=None, start_date=datetime(2026, 1, 1)):
    PythonOperator(task_id="first", python_callable=lambda: 1) >> PythonOperator(
        task_id="second", python_callable=lambda: 2)
    PythonOperator(task_id="broken", python_callable=fail)
"""


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[tuple[Home, StatsdListener]]:
    listener = StatsdListener()
    extra = {
        "TRADEWIND__METRICS__STATSD_ON": "true",
        "TRADEWIND__METRICS__STATSD_HOST": "127.0.0.1",
        "TRADEWIND__METRICS__STATSD_PORT": str(listener.port),
        "TRADEWIND__METRICS__PROMETHEUS_ON": "true",
        "TRADEWIND__METRICS__PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
    }
    home = Home(tmp_path / "home", f"sqlite:///{tmp_path / 'home' / 'tradewind.db'}", extra)
    try:
        yield home, listener
    finally:
        home.stop_all()
        home.env.db.engine.dispose()
        listener.close()


def _finished(home: Home) -> bool:
    with home.env.db.session(readonly=True) as s:
        runs = run_service.list_runs(s, "wired", limit=10, newest_first=False)
    return bool(runs) and runs[0].state in ("success", "failed")


def test_a_run_is_seen_in_statsd_and_in_a_prometheus_scrape(
    wired: tuple[Home, StatsdListener],
) -> None:
    home, statsd = wired
    home.write_dag("wired.py", DAG_FILE)
    home.start_scheduler()
    from tradewind.errors import NotFound
    from tradewind.services.dag_store import get_serialized_dag

    def parsed() -> bool:
        try:
            with home.env.db.session(readonly=True) as s:
                get_serialized_dag(s, "wired")
            return True
        except NotFound:
            return False

    home.wait_for(parsed, 60, "DAG parsed")
    with home.env.db.session() as s:
        run_service.trigger_run(s, "wired", now=home.env.now())
    home.env.wake()
    home.wait_for(lambda: _finished(home), 60, "the run to end")

    # StatsD: Airflow's names with the DAG and task in them
    assert statsd.wait_for("tradewind.dagrun.duration.failed.wired")[0].kind == "ms"
    assert statsd.wait_for("tradewind.ti.finish.wired.second.success")[0].value == 1
    statsd.wait_for("tradewind.ti.finish.wired.broken.failed")
    statsd.wait_for("tradewind.ti.start.wired.first")
    statsd.wait_for("tradewind.dag.wired.second.duration")
    assert statsd.wait_for("tradewind.scheduler_heartbeat")[0].kind == "c"
    statsd.wait_for("tradewind.executor.open_slots")
    assert statsd.wait_for("tradewind.pool.open_slots.default_pool")[0].kind == "g"
    statsd.wait_for("tradewind.ti.scheduling_latency.queued_to_started")
    statsd.wait_for("tradewind.dagbag_size")  # from the DAG processor child
    statsd.wait_for("tradewind.dag_processing.last_duration.wired")

    # Prometheus: the web server adds up every process's values
    from prometheus_client.parser import text_string_to_metric_families

    from tradewind.api.app import create_app
    from tradewind.services.auth_tokens import issue_api_token
    from tradewind.services.users import create_user

    with home.env.db.session() as s:
        create_user(
            s, "ops", "ops@example.com", "O", "P", "pw-for-ops-123", ["Viewer"], home.env.now()
        )
    token = issue_api_token(home.env.secret_key, "ops", ["Viewer"], home.env.now(), 600)
    client = TestClient(create_app(home.env))
    assert client.get("/metrics").status_code == 401  # not public by default
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    successes = {
        s.labels["task_id"]: s.value
        for s in families["tradewind_ti_successes"].samples
        if s.name == "tradewind_ti_successes_total"
    }
    assert successes == {"first": 1.0, "second": 1.0}
    failed_runs = [
        s for s in families["tradewind_dagrun_duration_failed"].samples if s.name.endswith("_count")
    ]
    assert [(s.labels["dag_id"], s.value) for s in failed_runs] == [("wired", 1.0)]
    assert families["tradewind_dagbag_size"].samples[0].value == 1
    latency = families["tradewind_ti_scheduling_latency"]
    assert {s.labels["stage"] for s in latency.samples} >= {"queued_to_started"}
