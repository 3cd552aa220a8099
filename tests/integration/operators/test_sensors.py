"""Sensors in real DAG runs: poke, reschedule (slot freed), soft_fail, timeouts, @task.sensor."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta, timezone

from tradewind import DAG, task
from tradewind.operators.python import PythonOperator
from tradewind.sensors.base import PokeReturnValue
from tradewind.sensors.date_time import DateTimeSensor
from tradewind.sensors.filesystem import FileSensor
from tradewind.sensors.python import PythonSensor
from tradewind.sensors.time_delta import TimeDeltaSensor
from tradewind.sensors.time_sensor import TimeSensor

from .conftest import run_dag

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_file_sensor_waits_for_the_file_then_downstream_runs(env, tmp_path):
    target = tmp_path / "in" / "data.csv"
    with DAG("file_wait", schedule=None, start_date=START) as dag:
        wait = FileSensor(
            task_id="wait", filepath=str(tmp_path / "in" / "*.csv"), poke_interval=0.05, timeout=20
        )
        after = PythonOperator(task_id="after", python_callable=lambda: target.read_text())
        wait >> after
    timer = threading.Timer(0.3, lambda: (target.parent.mkdir(), target.write_text("ok")))
    timer.start()
    result = run_dag(env, dag)
    timer.join()
    assert result.states == {"wait": "success", "after": "success"}


def test_time_sensors_pass_once_their_moment_is_reached(env):
    past = datetime.now(timezone.utc) - timedelta(minutes=1)
    # Midnight has passed today whenever the test runs (a time of day a minute ago is still
    # to come today when the test runs in the first minute after midnight UTC).
    midnight = time(0, 0)
    with DAG("times", schedule=None, start_date=START) as dag:
        TimeDeltaSensor(task_id="delta", delta=timedelta(seconds=0), poke_interval=0.05)
        DateTimeSensor(task_id="dt", target_time="{{ data_interval_end }}", poke_interval=0.05)
        TimeSensor(task_id="tod", target_time=midnight, poke_interval=0.05)
    assert run_dag(env, dag, logical_date=past - timedelta(minutes=5)).states == {
        "delta": "success",
        "dt": "success",
        "tod": "success",
    }


def test_timeout_fails_without_retry_and_soft_fail_skips(env):
    with DAG("timeouts", schedule=None, start_date=START, default_args={"retries": 3}) as dag:
        PythonSensor(task_id="hard", python_callable=lambda: False, poke_interval=0.05, timeout=0.2)
        PythonSensor(
            task_id="soft",
            python_callable=lambda: False,
            poke_interval=0.05,
            timeout=0.2,
            soft_fail=True,
        )
        PythonSensor(
            task_id="resched",
            python_callable=lambda: False,
            poke_interval=0.05,
            timeout=0.3,
            mode="reschedule",
            soft_fail=True,
        )
    result = run_dag(env, dag)
    assert result.states == {"hard": "failed", "soft": "skipped", "resched": "skipped"}
    assert result.tries["hard"] == 1  # a sensor timeout is not retried


def test_python_sensor_and_task_sensor_push_their_value(env):
    calls = {"n": 0}

    def ready() -> PokeReturnValue:
        calls["n"] += 1
        return PokeReturnValue(calls["n"] >= 3, {"rows": 42})

    with DAG("pysensor", schedule=None, start_date=START) as dag:

        @task.sensor(poke_interval=0.05, timeout=10, mode="reschedule")
        def upstream_ready(threshold: int) -> PokeReturnValue:
            return PokeReturnValue(True, threshold * 2)

        @task
        def consume(value: int, other: dict) -> int:
            assert other == {"rows": 42}
            return value + other["rows"]

        s = PythonSensor(
            task_id="py",
            python_callable=ready,
            poke_interval=0.05,
            exponential_backoff=True,
            max_wait=0.1,
        )
        consume(upstream_ready(21), s.output)
    result = run_dag(env, dag)
    assert result.states == {"upstream_ready": "success", "py": "success", "consume": "success"}
    assert calls["n"] == 3


def test_reschedule_mode_frees_the_only_pool_slot(env):
    """A pool of one slot: while the sensor waits (up_for_reschedule) another task runs."""
    from tradewind.metastore.tables import Pool

    with env.db.session() as s:
        s.add(Pool(pool="one", slots=1, description="", include_deferred=False))
    order: list[str] = []
    state = {"pokes": 0}

    def poke() -> bool:
        state["pokes"] += 1
        order.append("poke")
        return "work" in order

    with DAG("resched_pool", schedule=None, start_date=START) as dag:
        PythonSensor(
            task_id="sensor",
            python_callable=poke,
            mode="reschedule",
            poke_interval=0.1,
            timeout=20,
            pool="one",
            priority_weight=10,
        )
        PythonOperator(task_id="work", python_callable=lambda: order.append("work"), pool="one")
    result = run_dag(env, dag)
    assert result.states == {"sensor": "success", "work": "success"}
    assert order[0] == "poke" and "work" in order and order[-1] == "poke"
    assert result.tries["sensor"] == 1  # rescheduling keeps the try number
