"""How a Celery worker watches a try: timeouts, a try stopped from outside, a try that hangs.

Tries run in the worker's pool process with a watchdog thread by default, or in a forked
child per try with ``[celery] fork_per_try``; both must enforce the same rules. Real
PostgreSQL, Redis, webserver, scheduler and Celery worker processes (see test_celery_suite).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tradewind.services.task_instances import set_ti_state

from . import test_scheduler_runs as suite
from .conftest import _pg_database
from .test_celery_suite import BROKERS, CeleryHome, _need

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


def _home(tmp_path: Path, fork_per_try: bool) -> Iterator[CeleryHome]:
    label, port, url = BROKERS["redis"]
    _need("PostgreSQL", 5432)
    _need(label, port)
    for db_url in _pg_database():
        h = CeleryHome(tmp_path / "home", db_url, url)
        h.environ["TRADEWIND__CELERY__FORK_PER_TRY"] = "true" if fork_per_try else "false"
        try:
            yield h
        finally:
            h.stop_all()
            h.env.db.engine.dispose()


@pytest.fixture(params=["in_process", "fork_per_try"])
def home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CeleryHome]:
    yield from _home(tmp_path, request.param == "fork_per_try")


@pytest.fixture
def in_process_home(tmp_path: Path) -> Iterator[CeleryHome]:
    yield from _home(tmp_path, False)


def _log(home: CeleryHome, dag_id: str, rid: str, task_id: str, try_number: int = 1) -> str:
    path = (
        home.path
        / "logs"
        / f"dag_id={dag_id}"
        / f"run_id={rid}"
        / f"task_id={task_id}"
        / f"attempt={try_number}.log"
    )
    return path.read_text() if path.exists() else ""


def test_execution_timeout_fails_the_try(home: CeleryHome) -> None:
    home.write_dag(
        "slow.py",
        """
        import time
        from datetime import datetime, timedelta
        from tradewind import DAG
        from tradewind.operators.python import PythonOperator
        with DAG("slow", schedule=None, start_date=datetime(2026, 1, 1)):
            PythonOperator(task_id="slow", python_callable=lambda: time.sleep(60),
                           execution_timeout=timedelta(seconds=1))
        """,
    )
    home.start_scheduler()
    rid = suite._trigger(home, "slow")
    runs = home.wait_for(lambda: suite._finished(home, "slow"), 40, "the run to fail")
    assert runs[0].state == "failed"
    assert suite._tis(home, "slow", rid)["slow"].state == "failed"
    home.wait_for(
        lambda: "execution_timeout of 1 s" in _log(home, "slow", rid, "slow"), 10, "the log"
    )


def test_marking_a_running_task_failed_stops_it_and_calls_on_kill(home: CeleryHome) -> None:
    home.write_dag(
        "long.py",
        """
        import os, time
        from datetime import datetime
        from tradewind import DAG
        from tradewind.operators.python import PythonOperator
        class Long(PythonOperator):
            def on_kill(self):
                open(os.path.join(os.environ["TW_SCRATCH"], "killed"), "w").write("yes")
        def work():
            open(os.path.join(os.environ["TW_SCRATCH"], "started"), "w").write("yes")
            time.sleep(60)
        with DAG("long", schedule=None, start_date=datetime(2026, 1, 1)):
            Long(task_id="long", python_callable=work)
            PythonOperator(task_id="after", python_callable=lambda: "next")
        """,
    )
    home.start_scheduler()
    rid = suite._trigger(home, "long")
    home.wait_for(lambda: (home.scratch / "started").exists(), 60, "the task to start")
    with home.env.db.session() as s:
        set_ti_state(s, "long", rid, "long", "failed", now=home.env.now())
    home.env.wake()
    # The heartbeat (every 0.5 s) answers "stop": the try ends and its on_kill runs.
    home.wait_for(lambda: (home.scratch / "killed").exists(), 20, "on_kill to run")
    assert suite._tis(home, "long", rid)["long"].state == "failed"
    # The worker is free again: the other task of the run still runs to success.
    home.wait_for(
        lambda: suite._tis(home, "long", rid)["after"].state == "success", 30, "the other task"
    )


def test_a_try_that_ignores_its_timeout_is_reported_and_the_worker_carries_on(
    in_process_home: CeleryHome,
) -> None:
    home = in_process_home
    home.write_dag(
        "stuck.py",
        """
        import signal, time
        from datetime import datetime, timedelta
        from tradewind import DAG
        from tradewind.operators.python import PythonOperator
        def stuck():
            # Like C code that never returns to Python: no signal handler can run.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGTERM})
            time.sleep(60)
        with DAG("stuck", schedule=None, start_date=datetime(2026, 1, 1)):
            PythonOperator(task_id="stuck", python_callable=stuck,
                           execution_timeout=timedelta(seconds=1))
        with DAG("quick", schedule=None, start_date=datetime(2026, 1, 1)):
            PythonOperator(task_id="quick", python_callable=lambda: "ok")
        """,
    )
    home.start_scheduler()
    rid = suite._trigger(home, "stuck")
    # timeout 1 s + grace 5 s + 2 s to stop, then the try is reported and its process ends.
    runs = home.wait_for(lambda: suite._finished(home, "stuck"), 40, "the stuck run to fail")
    assert runs[0].state == "failed"
    home.wait_for(lambda: "did not stop" in _log(home, "stuck", rid, "stuck"), 10, "the log")
    suite._trigger(home, "quick")
    runs = home.wait_for(lambda: suite._finished(home, "quick"), 40, "a later run")
    assert runs[0].state == "success"


def test_the_log_reaches_the_webserver_with_what_callbacks_wrote_after_the_outcome(
    in_process_home: CeleryHome,
) -> None:
    home = in_process_home
    home.write_dag(
        "cb.py",
        """
        from datetime import datetime
        from tradewind import DAG
        from tradewind.operators.python import PythonOperator
        def after(context):
            print("the success callback ran")
        with DAG("cb", schedule=None, start_date=datetime(2026, 1, 1)):
            PythonOperator(task_id="plain", python_callable=lambda: print("plain work"))
            PythonOperator(task_id="with_cb", python_callable=lambda: print("cb work"),
                           on_success_callback=after)
        """,
    )
    home.start_scheduler()
    rid = suite._trigger(home, "cb")
    runs = home.wait_for(lambda: suite._finished(home, "cb"), 40, "the run")
    assert runs[0].state == "success"
    # The log travels with the outcome; what the callback printed afterwards follows it.
    assert "plain work" in _log(home, "cb", rid, "plain")
    home.wait_for(
        lambda: "the success callback ran" in _log(home, "cb", rid, "with_cb"), 10, "the log"
    )
    assert "cb work" in _log(home, "cb", rid, "with_cb")
