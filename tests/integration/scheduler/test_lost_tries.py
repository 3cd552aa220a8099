"""Lost is not failed: a try that ends because Tradewind's own process went away is requeued
without using a retry, a bounded number of times, exactly once however many schedulers see it;
a restarted scheduler requeues its dead predecessor's tries at once."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from tradewind import DAG
from tradewind.core.execution import Outcome, Workload
from tradewind.errors import TaskInstanceMoved
from tradewind.metastore.tables import EventLog, TaskInstanceHistory
from tradewind.operators.python import PythonOperator
from tradewind.services.execution import ExecutionService
from tradewind.services.testing import make_test_run, queue_single_task, store_dag_object

from .conftest import BOTH_DATABASES, Home
from .test_scheduler_runs import _finished, _tis, _trigger

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def lab(tmp_path: Path, db_url: str) -> Iterator[Home]:
    """A home whose heartbeat timeout and job health check are far away (300 s): whatever is
    recovered within a test's timeout was recovered by the host/pid rule."""
    h = Home(
        tmp_path / "home",
        db_url,
        {
            "TRADEWIND__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "300",
            "TRADEWIND__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "300",
            "TRADEWIND__SCHEDULER__MAX_LOST_TRY_REQUEUES": "2",
        },
    )
    try:
        yield h
    finally:
        h.stop_all()
        h.env.db.engine.dispose()


def _running_try(env, retries: int = 0) -> tuple[ExecutionService, Workload]:  # noqa: ANN001
    with DAG("lost", schedule=None, start_date=START) as dag:
        PythonOperator(task_id="t", python_callable=lambda: 1, retries=retries)
    store_dag_object(env, dag)
    run_id = make_test_run(env, "lost", START, None)
    w = queue_single_task(env, "lost", run_id, "t")
    service = ExecutionService(env)
    service.wake_on_change = False
    service.claim(w.ti_id, w.token, "elsewhere", 1)
    return service, w


def _history(env, ti_id: int) -> list[tuple[int, str, str | None]]:  # noqa: ANN001
    with env.db.session(readonly=True) as s:
        rows = s.execute(
            select(
                TaskInstanceHistory.try_number,
                TaskInstanceHistory.state,
                TaskInstanceHistory.error,
            )
            .where(TaskInstanceHistory.ti_id == ti_id)
            .order_by(TaskInstanceHistory.id)
        ).all()
    return [tuple(r) for r in rows]


def _ti(env, ti_id: int):  # noqa: ANN001, ANN202
    from tradewind.metastore.tables import TaskInstance

    with env.db.session(readonly=True) as s:
        ti = s.get(TaskInstance, ti_id)
        s.expunge(ti)
        return ti


@BOTH_DATABASES
def test_a_lost_try_is_requeued_without_using_a_retry_then_fails_past_the_limit(
    lab: Home,
) -> None:
    service, w = _running_try(lab.env, retries=0)
    answer = service.finish_try(w.ti_id, 1, Outcome.LOST, "its worker died")
    assert answer == {"state": "scheduled"}
    ti = _ti(lab.env, w.ti_id)
    assert (ti.state, ti.try_number, ti.max_tries, ti.lost_count) == ("scheduled", 2, 1, 1)
    assert _history(lab.env, w.ti_id) == [(1, "lost", "its worker died")]
    with lab.env.db.session(readonly=True) as s:
        events = s.execute(select(EventLog.event, EventLog.try_number)).all()
    assert ("lost_try_requeued", 1) in [tuple(e) for e in events]
    # Lost twice more: the second is still requeued, the third fails with how often.
    for _ in range(2):
        w2 = queue_single_task(lab.env, "lost", w.run_id, "t")  # (this shortcut bumps the try)
        service.claim(w2.ti_id, w2.token, "elsewhere", 1)
        answer = service.finish_try(w2.ti_id, w2.try_number, Outcome.LOST, "node gone")
    ti = _ti(lab.env, w.ti_id)
    assert answer == {"state": "failed"}
    assert ti.state == "failed" and ti.lost_count == 3
    last = _history(lab.env, w.ti_id)[-1]
    assert (
        last[1] == "lost" and "lost 3 times" in last[2] and "max_lost_try_requeues = 2" in last[2]
    )


def test_a_failed_try_still_uses_its_retries(lab: Home) -> None:
    service, w = _running_try(lab.env, retries=0)
    assert service.finish_try(w.ti_id, 1, Outcome.FAILED, "boom") == {"state": "failed"}
    assert _history(lab.env, w.ti_id) == [(1, "failed", "boom")]


@BOTH_DATABASES
def test_two_schedulers_reporting_the_same_lost_try_handle_it_exactly_once(lab: Home) -> None:
    _, w = _running_try(lab.env)
    services = [ExecutionService(lab.env) for _ in range(2)]
    for s in services:
        s.wake_on_change = False
    results: list[str] = []
    gate = threading.Barrier(2)

    def report(service: ExecutionService) -> None:
        gate.wait()
        try:
            results.append(service.finish_try(w.ti_id, 1, Outcome.LOST, "gone")["state"])
        except TaskInstanceMoved:
            results.append("refused")

    threads = [threading.Thread(target=report, args=(s,)) for s in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["refused", "scheduled"]
    assert _history(lab.env, w.ti_id) == [(1, "lost", "gone")]
    assert _ti(lab.env, w.ti_id).try_number == 2


FAN = """
import json, os, time
from datetime import datetime
from tradewind import DAG
from tradewind.operators.python import PythonOperator

def work(name, ti=None):
    time.sleep(1.0)
    with open(os.path.join(os.environ["TW_SCRATCH"], "done"), "a") as f:
        f.write(json.dumps([name, ti.try_number]) + "\\n")

with DAG("fan", schedule=None, start_date=datetime(2026, 1, 1)):
    end = PythonOperator(task_id="end", python_callable=work, op_args=["end"])
    for i in range(8):
        PythonOperator(task_id=f"t{i}", python_callable=work, op_args=[f"t{i}"]) >> end
"""


@BOTH_DATABASES
def test_kill_9_of_the_scheduler_group_requeues_its_tries_at_once(lab: Home) -> None:
    lab.write_dag("fan.py", FAN)
    proc = lab.start_scheduler()
    rid = _trigger(lab, "fan")

    def running() -> list[str]:
        return [t for t, ti in _tis(lab, "fan", rid).items() if ti.state == "running"]

    lab.wait_for(lambda: len(running()) >= 3, 60, "tasks running")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    lost = set(running())
    assert lost
    restarted = time.monotonic()
    lab.start_scheduler()

    def moving() -> bool:  # every try the dead scheduler held has left ``running``
        tis = _tis(lab, "fan", rid)
        return all(tis[t].state != "running" or tis[t].try_number > 1 for t in lost)

    lab.wait_for(moving, 60, "the lost tries to be requeued")
    recovery = time.monotonic() - restarted
    runs = lab.wait_for(lambda: _finished(lab, "fan"), 120, "the run to end")
    assert runs[0].state == "success", lab.scheduler_log()[-3000:]
    done = [tuple(json.loads(x)) for x in (lab.scratch / "done").read_text().splitlines()]
    names = [n for n, _ in done]
    assert sorted(names) == sorted({*names}), f"a finished task ran twice: {done}"
    assert len(names) == 9
    tis = _tis(lab, "fan", rid)
    for t in lost:
        assert tis[t].try_number == 2 and tis[t].max_tries == 1  # no retry used: retries=0
        hist = _history(lab.env, tis[t].id)
        assert hist[0][:2] == (1, "lost") and "is gone" in hist[0][2], hist
    print(f"recovery after restart: {recovery:.2f} s for {len(lost)} lost tries")


WORKER_KILLER = """
import os, signal, time
from datetime import datetime
from tradewind import DAG
from tradewind.operators.python import PythonOperator

def victim(ti=None):
    if ti.try_number <= int(os.environ.get("TW_KILLS", "1")):
        # The warm worker: the parent supervising this try, or this very process when the
        # worker runs its tries itself ([local_executor] fork_per_try = false).
        fork = os.environ["TRADEWIND__LOCAL_EXECUTOR__FORK_PER_TRY"] == "true"
        os.kill(os.getppid() if fork else os.getpid(), signal.SIGKILL)
        time.sleep(30)
    return "ok"

def called(context):
    with open(os.path.join(os.environ["TW_SCRATCH"], "callbacks"), "a") as f:
        f.write(f"{context['ti'].try_number}\\n")

with DAG("killer", schedule=None, start_date=datetime(2026, 1, 1)):
    PythonOperator(task_id="victim", python_callable=victim,
                   on_retry_callback=called, on_failure_callback=called)
"""


FORK_OR_NOT = pytest.mark.parametrize("fork_per_try", ["true", "false"])


@FORK_OR_NOT
def test_a_dead_warm_worker_is_replaced_and_its_try_requeued_as_lost(
    lab: Home, fork_per_try: str
) -> None:
    lab.environ["TRADEWIND__LOCAL_EXECUTOR__FORK_PER_TRY"] = fork_per_try
    lab.write_dag("killer.py", WORKER_KILLER)
    lab.start_scheduler()
    rid = _trigger(lab, "killer")
    runs = lab.wait_for(lambda: _finished(lab, "killer"), 60, "the run to end")
    assert runs[0].state == "success"
    ti = _tis(lab, "killer", rid)["victim"]
    assert (ti.try_number, ti.max_tries) == (2, 1)
    hist = _history(lab.env, ti.id)
    assert hist[0][:2] == (1, "lost") and "the worker process died" in hist[0][2], hist
    assert hist[1][:2] == (2, "success")
    assert not (lab.scratch / "callbacks").exists()  # no retry/failure callback for a requeue


@FORK_OR_NOT
def test_a_task_that_exhausts_max_lost_try_requeues_fails_saying_so(
    lab: Home, fork_per_try: str
) -> None:
    lab.environ["TRADEWIND__LOCAL_EXECUTOR__FORK_PER_TRY"] = fork_per_try
    lab.environ["TW_KILLS"] = "99"
    lab.write_dag("killer.py", WORKER_KILLER)
    lab.start_scheduler()
    rid = _trigger(lab, "killer")
    runs = lab.wait_for(lambda: _finished(lab, "killer"), 90, "the run to end")
    assert runs[0].state == "failed"
    ti = _tis(lab, "killer", rid)["victim"]
    hist = _history(lab.env, ti.id)
    assert [h[:2] for h in hist] == [(1, "lost"), (2, "lost"), (3, "lost")]
    assert "lost 3 times" in hist[-1][2]
    assert ti.state == "failed" and ti.lost_count == 3


@BOTH_DATABASES
def test_a_try_lost_before_its_claim_is_scheduled_again_at_once(lab: Home) -> None:
    """Its process could not reach the execution API to claim (EXIT_LOST): the scheduler
    puts the task instance, still queued for that try, back to scheduled (not after
    task_queued_timeout); a report for another try changes nothing."""
    from tradewind.executors.base import ExecutorEvent
    from tradewind.executors.inline import InlineExecutor
    from tradewind.scheduler.loop import Scheduler, SchedulerOptions

    with DAG("lost", schedule=None, start_date=START) as dag:
        PythonOperator(task_id="t", python_callable=lambda: 1)
    store_dag_object(lab.env, dag)
    run_id = make_test_run(lab.env, "lost", START, None)
    w = queue_single_task(lab.env, "lost", run_id, "t")
    service = ExecutionService(lab.env)
    executor = InlineExecutor(service, lambda _: dag, str(lab.env.settings.log_folder))
    scheduler = Scheduler(lab.env, executor, service, options=SchedulerOptions(exclusive=False))
    lost = "the task process ended (it could not reach the execution API)"
    scheduler.handle_executor_events([ExecutorEvent(w.ti_id, w.try_number + 1, "lost", lost)])
    assert _ti(lab.env, w.ti_id).state == "queued"
    scheduler.handle_executor_events([ExecutorEvent(w.ti_id, w.try_number, "lost", lost)])
    ti = _ti(lab.env, w.ti_id)
    assert (ti.state, ti.try_number, ti.lost_count) == ("scheduled", w.try_number, 0)


@BOTH_DATABASES
def test_a_lost_report_of_an_earlier_leg_leaves_the_current_leg_alone(lab: Home) -> None:
    """The try deferred and resumed (a new leg of the same try number): the executor's late
    report that the first leg's process died fails or requeues nothing of the leg that is
    queued, then running, now; a report of the current leg still ends it."""
    from sqlalchemy import update

    from tradewind.executors.base import ExecutorEvent
    from tradewind.executors.inline import InlineExecutor
    from tradewind.metastore.tables import TaskInstance
    from tradewind.scheduler.loop import Scheduler, SchedulerOptions
    from tradewind.services.tokens import issue_ti_token

    service, w = _running_try(lab.env)
    first_leg = w.seq
    assert first_leg is not None
    with lab.env.db.session() as s:  # resumed: queued again for the same try, a new leg
        s.execute(
            update(TaskInstance)
            .where(TaskInstance.id == w.ti_id)
            .values(state="queued", queue_seq=first_leg + 1)
        )
    executor = InlineExecutor(service, lambda _: None, str(lab.env.settings.log_folder))
    scheduler = Scheduler(lab.env, executor, service, options=SchedulerOptions(exclusive=False))
    gone = "the task process ended (signal SIGKILL) before reporting its outcome"
    old = [
        ExecutorEvent(w.ti_id, w.try_number, outcome, gone, first_leg)
        for outcome in ("lost", "failed")
    ]
    scheduler.handle_executor_events(old)
    assert _ti(lab.env, w.ti_id).state == "queued"
    token = issue_ti_token(lab.env.secret_key, w.ti_id, w.try_number, seq=first_leg + 1)
    service.claim(w.ti_id, token, "elsewhere", 2)
    scheduler.handle_executor_events(old)
    ti = _ti(lab.env, w.ti_id)
    assert (ti.state, ti.try_number, ti.lost_count) == ("running", w.try_number, 0)
    assert _history(lab.env, w.ti_id) == []
    current = ExecutorEvent(w.ti_id, w.try_number, "lost", gone, first_leg + 1)
    scheduler.handle_executor_events([current])
    assert _ti(lab.env, w.ti_id).state == "scheduled"


def test_a_finish_repeated_after_the_retry_was_queued_is_answered_from_the_history(
    lab: Home,
) -> None:
    """The answer of a failed try's finish was lost and the scheduler queued the retry before
    the worker repeated it: the repeat gets the state the try ended in (its callbacks run),
    the retry is left alone; a repeat claiming another outcome is refused."""
    service, w = _running_try(lab.env, retries=1)
    assert service.finish(w.ti_id, w.token, "failed", "boom")["state"] == "up_for_retry"
    retry = queue_single_task(lab.env, "lost", w.run_id, "t")
    assert retry.try_number == w.try_number + 1
    again = service.finish(w.ti_id, w.token, "failed", "boom")
    assert again["state"] == "up_for_retry" and again["callback_token"]
    with pytest.raises(TaskInstanceMoved):
        service.finish(w.ti_id, w.token, "success")
    ti = _ti(lab.env, w.ti_id)
    assert (ti.state, ti.try_number) == ("queued", retry.try_number)
    assert _history(lab.env, w.ti_id) == [(1, "up_for_retry", "boom")]


def test_a_finish_repeated_after_its_task_instance_was_cleared_is_answered_from_the_history(
    lab: Home,
) -> None:
    """The answer of a successful try's finish was lost and a user cleared the task instance
    before the worker repeated it (still on that try number, not yet scheduled again): the
    repeat gets the state the try ended in, as after a retry, and the clear stands."""
    from tradewind.services.task_instances import clear_task_instances

    service, w = _running_try(lab.env)
    assert service.finish(w.ti_id, w.token, "success")["state"] == "success"
    with lab.env.db.session() as s:
        cleared = clear_task_instances(s, "lost", now=START, run_id=w.run_id)
    assert [ti.task_id for ti in cleared] == ["t"]
    again = service.finish(w.ti_id, w.token, "success")
    assert again["state"] == "success" and again["callback_token"]
    with pytest.raises(TaskInstanceMoved):
        service.finish(w.ti_id, w.token, "failed", "boom")
    ti = _ti(lab.env, w.ti_id)
    assert (ti.state, ti.try_number) == (None, w.try_number)
    assert _history(lab.env, w.ti_id) == [(1, "success", None)]
