"""Dependencies between DAGs: TriggerDagRunOperator, ExternalTaskSensor/Marker, assets, plugins."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from tradewind import DAG
from tradewind.operators.empty import EmptyOperator
from tradewind.operators.python import PythonOperator
from tradewind.operators.trigger_dagrun import TriggerDagRunOperator
from tradewind.sdk.assets import Asset
from tradewind.sensors.external_task import ExternalTaskMarker, ExternalTaskSensor

from .conftest import collect, run_dag

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_trigger_dag_run_waits_for_the_triggered_run(env):
    with DAG("target", schedule=None, start_date=START, is_paused_upon_creation=False) as target:
        PythonOperator(task_id="work", python_callable=lambda dag_run: dag_run.conf["n"] * 2)
    with DAG("controller", schedule=None, start_date=START) as controller:
        TriggerDagRunOperator(
            task_id="trigger",
            trigger_dag_id="target",
            conf={"n": 21},
            trigger_run_id="from_{{ ds_nodash }}",
            logical_date="{{ logical_date }}",
            wait_for_completion=True,
            poke_interval=0.05,
        )
        TriggerDagRunOperator(
            task_id="again",
            trigger_dag_id="target",
            trigger_run_id="from_{{ ds_nodash }}",
            skip_when_already_exists=True,
        )
    result = run_dag(
        env, controller, logical_date=START, all_runs=True, extra_dags=(target,), timeout=30
    )
    assert result.states["trigger"] == "success"
    assert result.states["again"] in ("skipped", "success")
    triggered = collect(env, "target", "from_20260101")
    assert triggered.state == "success" and triggered.states == {"work": "success"}


def test_skip_when_already_exists_over_http_as_on_celery(env):
    """AlreadyExists crosses HTTP as AlreadyExists (it used to arrive as InvalidInput and fail
    the task on Celery workers)."""
    with DAG("target", schedule=None, start_date=START, is_paused_upon_creation=False) as target:
        PythonOperator(task_id="work", python_callable=lambda: 1)
    with DAG("controller", schedule=None, start_date=START) as controller:
        first = TriggerDagRunOperator(
            task_id="trigger", trigger_dag_id="target", trigger_run_id="from_{{ ds_nodash }}"
        )
        again = TriggerDagRunOperator(
            task_id="again",
            trigger_dag_id="target",
            trigger_run_id="from_{{ ds_nodash }}",
            skip_when_already_exists=True,
        )
        first >> again
    result = run_dag(
        env, controller, logical_date=START, extra_dags=(target,), over_http=True, timeout=30
    )
    assert result.states == {"trigger": "success", "again": "skipped"}
    assert result.state == "success"


def test_external_task_sensor_follows_the_other_dag(env):
    with DAG("upstream", schedule="@daily", start_date=START) as upstream:
        PythonOperator(task_id="extract", python_callable=lambda: 1)
        PythonOperator(task_id="broken", python_callable=lambda: 1 / 0)
    assert run_dag(env, upstream, logical_date=START).states == {
        "extract": "success",
        "broken": "failed",
    }
    day = timedelta(days=1)
    with DAG("downstream", schedule="@daily", start_date=START) as downstream:
        ExternalTaskSensor(
            task_id="wait_task",
            external_dag_id="upstream",
            external_task_id="extract",
            execution_delta=day,
            poke_interval=0.05,
            timeout=5,
        )
        ExternalTaskSensor(
            task_id="wait_fn",
            external_dag_id="upstream",
            external_task_ids=["extract"],
            execution_date_fn=lambda logical_date: logical_date - day,
            poke_interval=0.05,
            timeout=5,
            mode="reschedule",
        )
        ExternalTaskSensor(
            task_id="wait_failed",
            external_dag_id="upstream",
            external_task_id="broken",
            failed_states=["failed"],
            execution_delta=day,
            poke_interval=0.05,
            timeout=5,
            retries=2,
        )
        ExternalTaskSensor(
            task_id="wait_run",
            external_dag_id="upstream",
            allowed_states=["failed"],
            execution_delta=day,
            poke_interval=0.05,
            timeout=5,
        )
    result = run_dag(env, downstream, logical_date=START + day)
    assert result.states == {
        "wait_task": "success",
        "wait_fn": "success",
        "wait_failed": "failed",
        "wait_run": "success",
    }
    assert (
        result.tries["wait_failed"] == 1
    )  # a failed external task fails the sensor without retries


def test_external_task_marker_expands_a_clear_to_the_dependent_dag(env):
    from tradewind.services.external_clear import expand_external_markers

    with DAG("child", schedule=None, start_date=START) as child:
        EmptyOperator(task_id="load")
    with DAG("parent", schedule=None, start_date=START) as parent:
        EmptyOperator(task_id="extract") >> ExternalTaskMarker(
            task_id="mark", external_dag_id="child", external_task_id="load"
        )
    run_dag(env, child, logical_date=START)
    parent_run = run_dag(env, parent, logical_date=START)
    child_run = collect(env, "child", _run_id(env, "child"))
    with env.db.session(readonly=True) as s:
        assert expand_external_markers(s, "parent", parent_run.run_id, ["extract", "mark"]) == [
            ("child", child_run.run_id, ["load"])
        ]
        assert expand_external_markers(s, "parent", parent_run.run_id, ["extract"]) == []


def _run_id(env, dag_id):
    from tradewind.services.runs import list_runs

    with env.db.session(readonly=True) as s:
        return list_runs(s, dag_id=dag_id)[0].run_id


def _asset_dags():
    orders, customers = Asset("s3://bucket/orders.parquet"), Asset("s3://bucket/customers.parquet")
    with DAG("producer", schedule=None, start_date=START) as producer:
        PythonOperator(task_id="orders", python_callable=lambda: 1, outlets=[orders])
        PythonOperator(task_id="customers", python_callable=lambda: 1, outlets=[customers])
    with DAG(
        "both", schedule=orders & customers, start_date=START, is_paused_upon_creation=False
    ) as both:
        EmptyOperator(task_id="join")
    with DAG(
        "either", schedule=[orders], start_date=START, is_paused_upon_creation=False
    ) as either:
        EmptyOperator(task_id="one")
    return producer, both, either


def _asset_runs(env, dag_id):
    from tradewind.services.runs import list_runs

    with env.db.session(readonly=True) as s:
        return [r.run_type for r in list_runs(s, dag_id=dag_id)]


def test_asset_triggered_runs_are_created_once_per_update(env):
    from tradewind.scheduler.loop import Scheduler  # noqa: F401 - the DagCache the scheduler uses
    from tradewind.services.asset_scheduling import (
        create_asset_triggered_runs,
        triggering_asset_events,
    )
    from tradewind.services.scheduling import DagCache
    from tradewind.services.testing import store_dag_object

    producer, both, either = _asset_dags()
    for d in (both, either):
        store_dag_object(env, d)
    run_dag(env, producer)
    cache = DagCache()
    for _ in range(3):
        with env.db.session() as s:
            create_asset_triggered_runs(s, cache, env.now())
    assert _asset_runs(env, "both") == ["asset_triggered"]
    assert _asset_runs(env, "either") == ["asset_triggered"]
    with env.db.session(readonly=True) as s:
        from tradewind.services.runs import list_runs

        run = list_runs(s, dag_id="both")[0]
        assert len(triggering_asset_events(s, "both", run.run_id)) == 2
    run_dag(env, producer, logical_date=START + timedelta(days=3))
    with env.db.session() as s:
        assert create_asset_triggered_runs(s, cache, env.now()) == 2
    assert _asset_runs(env, "both") == ["asset_triggered", "asset_triggered"]


@pytest.mark.postgres
def test_two_schedulers_on_postgres_create_one_run_per_update(tmp_path, pg_url, monkeypatch):
    from tradewind.services.asset_scheduling import create_asset_triggered_runs
    from tradewind.services.env import Env
    from tradewind.services.install import write_config_file
    from tradewind.services.scheduling import DagCache
    from tradewind.services.testing import store_dag_object
    from tradewind.settings import load_settings

    pg = pg_url.replace("postgresql://", "postgresql+psycopg://")
    monkeypatch.setenv("TRADEWIND__DATABASE__SQL_ALCHEMY_CONN", pg)
    settings = load_settings(tmp_path / "home")
    write_config_file(settings)
    env = Env.from_settings(settings)
    env.db.migrate()
    try:
        producer, both, either = _asset_dags()
        for d in (both, either):
            store_dag_object(env, d)
        for round_ in range(3):
            run_dag(env, producer, logical_date=START + timedelta(days=round_))
            barrier = threading.Barrier(4)
            counts: list[int] = []

            def scheduler_pass(
                barrier: threading.Barrier = barrier, counts: list[int] = counts
            ) -> None:
                cache = DagCache()
                barrier.wait()
                with env.db.session() as s:
                    counts.append(create_asset_triggered_runs(s, cache, env.now()))

            threads = [threading.Thread(target=scheduler_pass) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sum(counts) == 2, counts
        assert len(_asset_runs(env, "both")) == 3 and len(_asset_runs(env, "either")) == 3
    finally:
        env.db.engine.dispose()


@pytest.fixture
def plugins_forgotten(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Plugins this test loads stay in it: the process's loaded plugins (which the CLI and
    the DAG processor reuse), ``sys.path`` and the plugin modules are as before afterwards."""
    from tradewind import plugins_manager

    monkeypatch.setattr(plugins_manager, "_loaded", plugins_manager._loaded)
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith(plugins_manager._FOLDER_PREFIX):
            del sys.modules[name]


def test_plugins_from_the_folder_provide_macros_and_operators(tmp_path, plugins_forgotten):
    from tradewind.plugins_manager import load_plugins

    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "company.py").write_text(
        "from tradewind.plugins_manager import AirflowPlugin\n"
        "from tradewind.sdk.baseoperator import BaseOperator\n"
        "def fiscal_year(ds):\n    return 'FY' + ds[:4]\n"
        "class HelloOperator(BaseOperator):\n    def execute(self, context):\n        return 'hello'\n"
        "class CompanyPlugin(AirflowPlugin):\n    name = 'company'\n    macros = [fiscal_year]\n    operators = [HelloOperator]\n"
    )
    (folder / "broken.py").write_text("raise ImportError('no such dependency')\n")
    loaded = load_plugins(folder=str(folder), reload=True)
    assert [p.name for p in loaded.plugins] == ["company"]
    assert loaded.macros["company"].fiscal_year("2026-03-01") == "FY2026"
    assert loaded.find("operators", "HelloOperator").__name__ == "HelloOperator"
    assert any("broken.py" in k for k in loaded.errors)
