"""Deadline alerts survive `kill -9` of the scheduler: a deadline that passed while no
scheduler ran is alerted by the next one, and an alert already sent is never sent again."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tradewind.metastore.tables import EventLog
from tradewind.services import runs as run_service

from .conftest import BOTH_DATABASES, Home

pytestmark = pytest.mark.slow

# The deadline, after the run is queued: long enough for the first scheduler to start the
# task and be killed before it passes, even on a loaded machine (4 s was not always).
DEADLINE_S = 10

DAG_FILE = f"""
import os, time
from datetime import datetime, timedelta
from tradewind import DAG
from tradewind.operators.python import PythonOperator
from tradewind.sdk.deadline import DeadlineAlert, DeadlineReference, SyncCallback

def alert(context, channel):
    with open(os.path.join(os.environ["TW_SCRATCH"], "alerts"), "a") as f:
        f.write(f"{{channel}} {{context['run_id']}} {{context['deadline']['deadline_time']}}\\n")

with DAG("slow_one", schedule=None, start_date=datetime(2026, 1, 1),
         deadline=DeadlineAlert(reference=DeadlineReference.DAGRUN_QUEUED_AT,
                                interval=timedelta(seconds={DEADLINE_S}),
                                callback=SyncCallback(alert, kwargs={{"channel": "#ops"}}))):
    PythonOperator(task_id="sleep", python_callable=lambda: time.sleep(120), retries=3)
"""


def _kill9(home: Home) -> None:
    for p in home.procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)


def _alerts(home: Home) -> list[str]:
    path = home.scratch / "alerts"
    return path.read_text().splitlines() if path.exists() else []


@BOTH_DATABASES
def test_deadline_alert_fires_exactly_once_across_kill_9(tmp_path: Path, db_url: str) -> None:
    home = Home(tmp_path / "home", db_url, {})
    try:
        home.write_dag("slow_one.py", DAG_FILE)
        home.start_scheduler()
        home.wait_for(lambda: _parsed(home), 60, "DAG parsed")
        with home.env.db.session() as s:
            run = run_service.trigger_run(s, "slow_one", now=home.env.now())
            run_id, queued_at = run.run_id, run.queued_at
        home.env.wake()
        home.wait_for(lambda: _task_state(home, run_id) == "running", 60, "the task to run")
        _kill9(home)  # before the deadline: nobody is watching when it passes
        time.sleep(max(0.0, (queued_at.timestamp() + DEADLINE_S + 1.5) - time.time()))
        assert _alerts(home) == []

        home.start_scheduler()  # a new scheduler sees the missed deadline
        home.wait_for(lambda: _alerts(home), 60, "the deadline alert")
        _kill9(home)
        home.start_scheduler()  # and another one must not alert again
        home.wait_for(
            lambda: home.scheduler_log().count("scheduler started") == 3, 60, "the third start"
        )
        time.sleep(4)  # several deadline sweeps of the third scheduler
        (line,) = _alerts(home)
        assert line.startswith(f"#ops {run_id} ")
        with home.env.db.session(readonly=True) as s:
            events = s.execute(select(EventLog).where(EventLog.event == "deadline_missed")).all()
        assert len(events) == 1
    finally:
        home.stop_all()
        home.env.db.engine.dispose()


def _parsed(home: Home) -> bool:
    from tradewind.errors import NotFound
    from tradewind.services.dag_store import get_serialized_dag

    try:
        with home.env.db.session(readonly=True) as s:
            get_serialized_dag(s, "slow_one")
        return True
    except NotFound:
        return False


def _task_state(home: Home, run_id: str) -> str | None:
    with home.env.db.session(readonly=True) as s:
        states = {t.task_id: t.state for t in run_service.task_states(s, "slow_one", run_id)}
    return states.get("sleep")
