"""Metrics are emitted at the right places: a whole DAG run in process, recorded in memory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from tradewind import DAG
from tradewind.core import metrics
from tradewind.dag_test import run_dag_in_process
from tradewind.operators.python import PythonOperator
from tradewind.services import telemetry
from tradewind.services.latency import LatencyTracker, task_latencies
from tradewind.services.scheduling import DagCache

DAY = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def recorder() -> Iterator[metrics.Recorder]:
    rec = metrics.Recorder()
    metrics.configure(rec)
    yield rec
    metrics.configure(None)


def _boom() -> None:
    raise ValueError("boom")


def _dag(fail: bool) -> DAG:
    with DAG("obs_points", schedule=None, start_date=DAY) as dag:
        a = PythonOperator(task_id="extract", python_callable=lambda: 1)
        b = PythonOperator(task_id="load", python_callable=_boom if fail else (lambda: 2))
        a >> b
    return dag


def _tags(rec: metrics.Recorder, name: str) -> list[dict[str, str]]:
    return [r[3] for r in rec.named(name)]


def test_a_successful_run_reports_tries_durations_and_the_run(
    env: Any, recorder: metrics.Recorder
) -> None:
    result = run_dag_in_process(_dag(False), DAY, env=env, echo=False)
    assert result.state == "success"
    started = _tags(recorder, "ti.start")
    assert {"dag_id": "obs_points", "task_id": "extract"} in started
    assert {"dag_id": "obs_points", "task_id": "load"} in started
    finished = _tags(recorder, "ti.finish")
    assert {"dag_id": "obs_points", "task_id": "load", "state": "success"} in finished
    assert len(recorder.named("ti_successes")) == 2
    assert not recorder.named("ti_failures")
    durations = recorder.named("task.duration")
    assert len(durations) == 2 and all(r[2] >= 0 for r in durations)
    (run,) = recorder.named("dagrun.duration.success")
    assert run[3] == {"dag_id": "obs_points"} and run[2] >= 0


def test_a_failed_run_counts_the_failure(env: Any, recorder: metrics.Recorder) -> None:
    result = run_dag_in_process(_dag(True), DAY, env=env, echo=False)
    assert result.state == "failed"
    assert _tags(recorder, "ti_failures") == [{"dag_id": "obs_points", "task_id": "load"}]
    assert recorder.named("dagrun.duration.failed")
    assert not recorder.named("dagrun.duration.success")


def test_scheduling_latency_per_stage_after_the_tasks_started(
    env: Any, recorder: metrics.Recorder
) -> None:
    result = run_dag_in_process(_dag(False), DAY, env=env, echo=False)
    from tradewind.metastore.tables import TaskInstance

    tracker = LatencyTracker()
    with env.db.session(readonly=True) as s:
        ids = [
            ti.id
            for ti in s.query(TaskInstance).filter_by(dag_id="obs_points", run_id=result.run_id)
        ]
    tracker.queued(ids)
    with env.db.session(readonly=True) as s:
        assert tracker.flush(s, DagCache()) == 2
        per_task = task_latencies(s, None, "obs_points", result.run_id)
    assert not tracker.pending
    stages = {r[3]["stage"] for r in recorder.named("ti.scheduling_latency")}
    assert stages == {"upstream_to_queued", "queued_to_started", "upstream_to_started"}
    assert all(r[2] >= 0 for r in recorder.named("ti.scheduling_latency"))
    assert set(per_task) == {"extract", "load"}
    assert per_task["load"]["queued_to_started"] >= 0


def test_the_scheduler_beat_reports_executor_and_pool_gauges(
    env: Any, recorder: metrics.Recorder
) -> None:
    with env.db.session() as s:
        telemetry.scheduler_beat(s, open_slots=5)
    gauges = {(r[1], tuple(sorted(r[3].items()))): r[2] for r in recorder.records}
    assert gauges[("executor.open_slots", ())] == 5
    assert gauges[("executor.queued_tasks", ())] == 0
    assert gauges[("pool.open_slots", (("pool_name", "default_pool"),))] == 128
    assert gauges[("pool.starving_tasks", (("pool_name", "default_pool"),))] == 0
    assert recorder.named("scheduler_heartbeat")


def test_nothing_is_recorded_when_metrics_are_off(env: Any) -> None:
    tracker = LatencyTracker()
    tracker.queued([1, 2, 3])
    assert not tracker.pending  # off: the scheduler keeps nothing for metrics


def test_a_scheduled_run_reports_how_late_it_started(env: Any, recorder: metrics.Recorder) -> None:
    from datetime import timedelta

    from tradewind.core.states import DagRunType
    from tradewind.sdk.timetables import DataInterval
    from tradewind.services import run_creation
    from tradewind.services.dag_store import get_serialized_dag
    from tradewind.services.runs import create_run
    from tradewind.services.testing import store_dag_object

    store_dag_object(env, _dag(False))
    end = DAY + timedelta(days=1)
    with env.db.session() as s:
        sdag = get_serialized_dag(s, "obs_points")
        for run_type, run_id in ((DagRunType.SCHEDULED, "sched"), (DagRunType.MANUAL, "manual")):
            create_run(
                s,
                sdag,
                run_id=run_id,
                run_type=run_type,
                logical_date=DAY if run_id == "sched" else end,
                data_interval=DataInterval(DAY, end),
                run_after=end,
                conf=None,
                now=end,
            )
        s.execute(
            __import__("sqlalchemy")
            .update(__import__("tradewind.metastore.tables", fromlist=["DagModel"]).DagModel)
            .values(is_paused=False)
        )
    with env.db.session() as s:
        assert run_creation.start_queued_runs(s, end + timedelta(seconds=90)) == 2
    (delay,) = recorder.named("dagrun.schedule_delay")  # manual runs have no due time
    assert delay[2] == 90.0 and delay[3] == {"dag_id": "obs_points"}
