"""Deferrable sensors handed to a real triggerer: state deferred, resume, timeouts, scale."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from tradewind import DAG
from tradewind.errors import TaskDeferred
from tradewind.operators.python import PythonOperator
from tradewind.sdk.baseoperator import BaseOperator
from tradewind.sdk.triggers import BaseTrigger, TimeDeltaTrigger
from tradewind.sensors.date_time import DateTimeSensor
from tradewind.sensors.filesystem import FileSensor
from tradewind.sensors.python import PythonSensor

from .conftest import run_dag

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


class FailingTrigger(BaseTrigger):
    def serialize(self):
        return self.classpath(), {}

    async def run(self):
        raise RuntimeError("the trigger broke")
        yield


class DeferOnce(BaseOperator):
    def __init__(self, *, trigger_factory, timeout=None, **kwargs):
        super().__init__(**kwargs)
        self.trigger_factory = trigger_factory
        self.defer_timeout = timeout

    def execute(self, context):
        raise TaskDeferred(
            trigger=self.trigger_factory(),
            method_name="done",
            kwargs={"note": "kept"},
            timeout=self.defer_timeout,
        )

    def done(self, context, event=None):
        return {"event": event}


def _write_once_deferred(env, target, stop, wrote):
    """Write ``target`` once the file sensors ``fs`` and ``generic`` are both deferred."""
    from sqlalchemy import select

    from tradewind.metastore.tables import TaskInstance

    query = select(TaskInstance.task_id).where(
        TaskInstance.dag_id == "deferred",
        TaskInstance.task_id.in_(["fs", "generic"]),
        TaskInstance.state == "deferred",
    )
    while not stop.is_set():
        with env.db.session(readonly=True) as s:
            if len(s.execute(query).all()) == 2:
                target.write_text("x")
                wrote.set()
                return
        time.sleep(0.02)


def test_deferrable_sensors_wait_in_the_triggerer_and_resume(env, tmp_path):
    target = tmp_path / "late.txt"
    soon = (datetime.now(timezone.utc) + timedelta(seconds=0.5)).isoformat()
    with DAG("deferred", schedule=None, start_date=START) as dag:
        dt = DateTimeSensor(task_id="dt", target_time=soon, deferrable=True)
        fs = FileSensor(
            task_id="fs", filepath=str(target), deferrable=True, poke_interval=0.05, timeout=30
        )
        generic = PythonSensor(
            task_id="generic",
            python_callable=lambda: target.exists(),
            deferrable=True,
            poke_interval=0.1,
            timeout=30,
        )
        resumed = DeferOnce(
            task_id="resumed", trigger_factory=lambda: TimeDeltaTrigger(timedelta(seconds=0.2))
        )
        after = PythonOperator(
            task_id="after", python_callable=lambda ti: ti.xcom_pull(task_ids="resumed")
        )
        [dt, fs, generic, resumed] >> after
    stop, wrote = threading.Event(), threading.Event()
    # The file appears once both file sensors wait in the triggerer, however late they start
    # (a file written after a fixed pause could be there before they first poke).
    writer = threading.Thread(target=_write_once_deferred, args=(env, target, stop, wrote))
    writer.start()
    try:
        result = run_dag(env, dag, triggerer=True, timeout=60)
    finally:
        stop.set()
        writer.join()
    assert result.states == {
        "dt": "success",
        "fs": "success",
        "generic": "success",
        "resumed": "success",
        "after": "success",
    }
    assert wrote.is_set()  # both file sensors were seen deferred before the file appeared
    assert result.tries["resumed"] == 1  # resuming keeps the try number
    from tradewind.services.xcom import get_xcom

    with env.db.session(readonly=True) as s:
        found, value = get_xcom(
            s,
            dag_id="deferred",
            run_id=result.run_id,
            task_id="resumed",
            key="return_value",
            map_index=-1,
        )
    assert found and value["event"]["status"] == "success"


def test_an_idle_triggerer_is_woken_by_a_deferral_on_its_host(env):
    # It syncs every 30 s while it holds no trigger (#17: an idle triggerer costs ~0 CPU);
    # the deferral's wake-up makes it claim the trigger at once, well inside the run's 15 s.
    with DAG("woken", schedule=None, start_date=START) as dag:
        resumed = DeferOnce(
            task_id="resumed", trigger_factory=lambda: TimeDeltaTrigger(timedelta(seconds=0.1))
        )
        resumed >> PythonOperator(task_id="after", python_callable=lambda: None)

    started = time.monotonic()
    result = run_dag(env, dag, triggerer=True, triggerer_interval=30.0, timeout=15)

    assert result.states == {"resumed": "success", "after": "success"}
    assert time.monotonic() - started < 15


def test_deferral_timeout_and_broken_trigger_fail_the_task(env, tmp_path):
    with DAG("deferred_fail", schedule=None, start_date=START) as dag:
        DeferOnce(
            task_id="times_out",
            trigger_factory=lambda: TimeDeltaTrigger(timedelta(hours=1)),
            timeout=timedelta(seconds=0.3),
        )
        DeferOnce(task_id="broken", trigger_factory=FailingTrigger)
        FileSensor(
            task_id="file_soft",
            filepath=str(tmp_path / "never"),
            deferrable=True,
            poke_interval=0.05,
            timeout=0.3,
            soft_fail=True,
        )
    result = run_dag(env, dag, triggerer=True, timeout=30)
    assert result.states == {"times_out": "failed", "broken": "failed", "file_soft": "skipped"}
    from tradewind.metastore.tables import Trigger

    with env.db.session(readonly=True) as s:
        assert s.query(Trigger).count() == 0  # no trigger row is left behind


@pytest.mark.slow
def test_one_thousand_deferred_sensors_in_one_triggerer_cost_little_cpu(env):
    """1,000 deferred sensors wait at once in one triggerer; its CPU time over the wait is small.

    The 1,000 deferrals are written the way ``ExecutionService.defer`` writes them, in one
    transaction (running 1,000 tries inline first would only measure the runner).
    """
    from sqlalchemy import select, update

    from tradewind.metastore.tables import TaskInstance, Trigger
    from tradewind.sdk.triggers import DateTimeTrigger
    from tradewind.services.queueing import count_by_state
    from tradewind.services.testing import make_test_run, store_dag_object
    from tradewind.triggerer.runner import Triggerer

    n, wait = 1000, 5.0
    moment = datetime.now(timezone.utc) + timedelta(seconds=wait + 4)
    with DAG("many", schedule=None, start_date=START) as dag:
        for i in range(n):
            DateTimeSensor(task_id=f"s{i}", target_time=moment.isoformat(), deferrable=True)
    store_dag_object(env, dag)
    run_id = make_test_run(env, "many", START, None)
    classpath, kwargs = DateTimeTrigger(moment).serialize()
    with env.db.session() as s:
        for ti_id in (
            s.execute(select(TaskInstance.id).where(TaskInstance.run_id == run_id)).scalars().all()
        ):
            row = Trigger(classpath=classpath, kwargs=kwargs, created_date=env.now())
            s.add(row)
            s.flush()
            s.execute(
                update(TaskInstance)
                .where(TaskInstance.id == ti_id)
                .values(
                    state="deferred",
                    try_number=1,
                    trigger_id=row.id,
                    next_method="execute_complete",
                    next_kwargs={},
                )
            )
    trig = Triggerer(env, poll_interval=1.0, capacity=n)
    thread = threading.Thread(target=trig.run, daemon=True)
    thread.start()
    trig.started.wait(10)
    deadline = time.monotonic() + 30
    while len(trig.tasks) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(trig.tasks) == n
    usage0, t0 = _process_cpu(), time.monotonic()
    time.sleep(wait)
    used, elapsed = _process_cpu() - usage0, time.monotonic() - t0
    while time.monotonic() < deadline:
        with env.db.session(readonly=True) as s:
            if count_by_state(s).get("scheduled", 0) == n:
                break
        time.sleep(0.1)
    fired_late = (datetime.now(timezone.utc) - moment).total_seconds()
    trig.stop()
    thread.join(10)
    print(
        f"\n{n} waiting triggers: CPU {used:.3f} s over {elapsed:.1f} s ({100 * used / elapsed:.1f}% of a core); all resumed {fired_late:.2f} s after the moment"
    )
    with env.db.session(readonly=True) as s:
        assert count_by_state(s).get("scheduled") == n  # every sensor resumed, try number kept
        assert s.query(Trigger).count() == 0
    assert used / elapsed < 0.10  # well under a tenth of one core while 1,000 tasks wait
    assert fired_late < 10


def _process_cpu() -> float:
    t = __import__("os").times()
    return t.user + t.system
