"""Airflow 3.3's state store in task code: ``task_state_store`` survives a failed try,
``asset_state_store[asset]`` is shared by the DAGs that name the asset."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.compat.conftest import DAY, load_dags, run, states, xcom

FILE = """
import pendulum
from datetime import timedelta
from airflow.sdk import DAG, Asset, task
from airflow.sdk.execution_time.context import NEVER_EXPIRE

orders = Asset(name="orders", uri="s3://shop/orders")
START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("resumable", schedule=None, start_date=START):
    @task(retries=1)
    def job(task_state_store=None, ti=None):
        seen = task_state_store.get("job_id")
        if seen is None:
            task_state_store.set("job_id", f"job-of-try-{ti.try_number}", retention=NEVER_EXPIRE)
            task_state_store.set("short", 1, retention=timedelta(hours=1))
            raise RuntimeError("lost the worker after submitting")
        task_state_store.delete("short")
        return [seen, task_state_store.get("short", default="gone"), ti.try_number]
    job()

with DAG("writer", schedule=None, start_date=START):
    @task(outlets=[orders])
    def write(asset_state_store=None):
        state = asset_state_store[orders]
        state.set("runs", state.get("runs", default=0) + 1)
    write()

with DAG("reader", schedule=None, start_date=START):
    @task(inlets=[orders])
    def read(asset_state_store=None):
        return {"runs": asset_state_store[orders].get("runs")}
    read()

with DAG("stranger", schedule=None, start_date=START):
    @task
    def peek(asset_state_store=None):
        return asset_state_store[orders].get("runs")
    peek()
"""


def test_task_state_survives_a_failed_try(env: Any, tmp_path: Path) -> None:
    from tradewind.services import state_store

    result = run(load_dags(tmp_path, "state.py", FILE)["resumable"], env)
    assert states(result) == {"job": "success"}
    assert xcom(env, result, "job") == ["job-of-try-1", "gone", 2]
    owner = state_store.task_owner("resumable", result.run_id, "job", -1)
    with env.db.session(readonly=True) as s:  # what the REST API shows
        entry = state_store.get_entry(s, owner, "job_id", env.now())
        assert entry is not None and entry.value == "job-of-try-1"
        assert entry.expires_at is None  # NEVER_EXPIRE
        assert state_store.get_entry(s, owner, "short", env.now()) is None  # deleted


def test_asset_state_is_shared_by_the_dags_naming_the_asset(env: Any, tmp_path: Path) -> None:
    dags = load_dags(tmp_path, "state.py", FILE)
    assert xcom(env, run(dags["reader"], env), "read") == {"runs": None}
    run(dags["writer"], env)
    run(dags["writer"], env, logical_date=DAY + timedelta(days=1))
    result = run(dags["reader"], env, logical_date=DAY + timedelta(days=1))
    assert xcom(env, result, "read") == {"runs": 2}


def test_a_task_not_naming_the_asset_cannot_read_its_state(env: Any, tmp_path: Path) -> None:
    result = run(load_dags(tmp_path, "state.py", FILE)["stranger"], env)
    assert states(result) == {"peek": "failed"}
    log = next((Path(env.settings.log_folder) / "dag_id=stranger").rglob("attempt=1.log"))
    assert "names no asset 's3://shop/orders' in its inlets or outlets" in log.read_text()
