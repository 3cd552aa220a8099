"""The local executor's pool grows with demand, shrinks when idle, recycles workers; an idle
scheduler still starts what is due (#17: the idle set's memory and CPU)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from .conftest import Home
from .test_scheduler_runs import _finished, _runs, _states, _trigger

TOGETHER = """
import os, time
from datetime import datetime
from tradewind import DAG
from tradewind.operators.python import PythonOperator
def meet(name):
    scratch = os.environ["TW_SCRATCH"]
    open(os.path.join(scratch, f"{name}.pid"), "w").write(str(os.getpid()))
    deadline = time.monotonic() + 30
    while len([f for f in os.listdir(scratch) if f.endswith(".pid")]) < 4:
        if time.monotonic() > deadline:
            raise RuntimeError("the other tasks never started alongside this one")
        time.sleep(0.05)
with DAG("together", schedule=None, start_date=datetime(2026, 1, 1)):
    for i in range(4):
        PythonOperator(task_id=f"t{i}", python_callable=meet, op_args=[f"t{i}"])
"""


def _workers(scheduler_pid: int) -> list[int]:
    """The scheduler's warm workers: its direct children that are not named components."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == scheduler_pid and not comm.startswith("tw-"):
            found.append(int(entry))
    return found


@pytest.mark.slow
def test_a_pool_of_one_idle_worker_grows_to_run_parallelism_tries_at_once_then_shrinks(
    home: Home,
) -> None:
    """Four tasks that only succeed when all four run at the same time succeed with one warm
    worker at start; the extra workers are stopped after worker_idle_timeout."""
    home.environ["TRADEWIND__LOCAL_EXECUTOR__IDLE_WORKERS"] = "1"
    home.environ["TRADEWIND__LOCAL_EXECUTOR__WORKER_IDLE_TIMEOUT"] = "2"
    home.write_dag("together.py", TOGETHER)
    proc = home.start_scheduler()
    home.wait_for(lambda: len(_workers(proc.pid)) == 1, 30, "one warm worker at start")
    rid = _trigger(home, "together")
    runs = home.wait_for(lambda: _finished(home, "together"), 60, "the run to end")
    assert runs[0].state == "success", _states(home, "together", rid)
    pids = {(home.scratch / f"t{i}.pid").read_text() for i in range(4)}
    assert len(pids) == 4  # four processes at once
    home.wait_for(lambda: len(_workers(proc.pid)) == 1, 30, "the pool to shrink back to one")


RECYCLED = """
import os
from datetime import datetime
from tradewind import DAG
from tradewind.operators.python import PythonOperator
def note(name):
    with open(os.path.join(os.environ["TW_SCRATCH"], "pids"), "a") as f:
        f.write(f"{name}:{os.getpid()}\\n")
with DAG("recycled", schedule=None, start_date=datetime(2026, 1, 1)):
    a = PythonOperator(task_id="a", python_callable=note, op_args=["a"])
    b = PythonOperator(task_id="b", python_callable=note, op_args=["b"])
    c = PythonOperator(task_id="c", python_callable=note, op_args=["c"])
    a >> b >> c
"""


@pytest.mark.parametrize(("max_tasks", "processes"), [("1", 3), ("0", 1)])
def test_worker_max_tasks_replaces_a_warm_worker_after_that_many_tries(
    home: Home, max_tasks: str, processes: int
) -> None:
    home.environ["TRADEWIND__CORE__PARALLELISM"] = "1"
    home.environ["TRADEWIND__LOCAL_EXECUTOR__WORKER_MAX_TASKS"] = max_tasks
    home.write_dag("recycled.py", RECYCLED)
    home.start_scheduler()
    rid = _trigger(home, "recycled")
    runs = home.wait_for(lambda: _finished(home, "recycled"), 60, "the run to end")
    assert runs[0].state == "success", _states(home, "recycled", rid)
    lines = (home.scratch / "pids").read_text().split()
    assert [line.split(":")[0] for line in lines] == ["a", "b", "c"]
    assert len({line.split(":")[1] for line in lines}) == processes


TICKING = """
from datetime import datetime, timedelta, timezone
from tradewind import DAG
from tradewind.operators.python import PythonOperator
with DAG("ticking", schedule=timedelta(seconds=3), catchup=False,
         start_date=datetime(2026, 1, 1, tzinfo=timezone.utc)):
    PythonOperator(task_id="t", python_callable=lambda: "ok")
"""


@pytest.mark.slow
def test_an_idle_scheduler_with_a_long_safety_poll_still_creates_runs_when_due(
    home: Home,
) -> None:
    """With nothing running the scheduler skips its every-poll_interval pass, but it knows
    when the next scheduled run is due: a run every 3 s keeps coming."""
    home.environ["TRADEWIND__SCHEDULER__IDLE_POLL_INTERVAL"] = "300"
    home.write_dag("ticking.py", TICKING)
    home.start_scheduler()
    home.wait_for(lambda: _finished(home, "ticking"), 30, "the first scheduled run")
    first = len(_runs(home, "ticking"))
    started = time.monotonic()
    home.wait_for(lambda: _finished(home, "ticking", first + 2), 30, "two more runs")
    assert time.monotonic() - started < 20
