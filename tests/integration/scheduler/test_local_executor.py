"""The local executor under bad behaviour: crashes, clears while running, stale replies."""

from __future__ import annotations

import threading
from multiprocessing import Pipe

import pytest

from tradewind.services import runs as run_service
from tradewind.services.task_instances import clear_task_instances
from tradewind.worker import _pipe

from .conftest import Home
from .test_scheduler_runs import _finished, _states, _tis, _trigger


def test_pipe_client_drops_a_reply_left_by_a_killed_try() -> None:
    child, parent = Pipe(duplex=True)
    _pipe.send(parent, {"id": "old:7", "result": {"state": "success"}})  # left in the socket

    def serve() -> None:
        msg = _pipe.recv(parent)
        _pipe.send(parent, {"id": msg["id"], "result": {"ti": {"id": 1}}})

    t = threading.Thread(target=serve)
    t.start()
    assert _pipe.PipeClient(child).claim(1, "tok", "host", 1) == {"ti": {"id": 1}}
    t.join(5)


@pytest.mark.slow
def test_a_crashing_task_process_is_reported_with_its_signal_or_exit_code(home: Home) -> None:
    home.write_dag(
        "crash.py",
        """
        import ctypes, os
        from datetime import datetime
        from tradewind import DAG
        from tradewind.operators.python import PythonOperator
        with DAG("crash", schedule=None, start_date=datetime(2026, 1, 1)):
            PythonOperator(task_id="segfault", python_callable=lambda: ctypes.string_at(0))
            PythonOperator(task_id="exits", python_callable=lambda: os._exit(3))
            PythonOperator(task_id="fine", python_callable=lambda: "ok")
    """,
    )
    home.start_scheduler()
    rid = _trigger(home, "crash")
    runs = home.wait_for(lambda: _finished(home, "crash"), 60, "crash run")
    assert runs[0].state == "failed"
    assert _states(home, "crash", rid) == {
        "segfault": "failed",
        "exits": "failed",
        "fine": "success",
    }
    logs = home.path / "logs" / "dag_id=crash" / f"run_id={rid}"
    assert "SIGSEGV" in (logs / "task_id=segfault" / "attempt=1.log").read_text()
    assert "exit code 3" in (logs / "task_id=exits" / "attempt=1.log").read_text()


@pytest.mark.slow
def test_clearing_a_running_task_stops_it_and_runs_it_again(home: Home) -> None:
    home.write_dag(
        "cleared.py",
        """
        import os, time
        from datetime import datetime
        from tradewind import DAG
        from tradewind.operators.python import PythonOperator
        def once_slow():
            marker = os.path.join(os.environ["TW_SCRATCH"], "first")
            if not os.path.exists(marker):
                open(marker, "w").write("x")
                time.sleep(300)
            return "second run"
        with DAG("cleared", schedule=None, start_date=datetime(2026, 1, 1)):
            PythonOperator(task_id="slow", python_callable=once_slow)
            PythonOperator(task_id="other", python_callable=lambda: __import__("time").sleep(1))
    """,
    )
    home.start_scheduler()
    rid = _trigger(home, "cleared")
    home.wait_for(
        lambda: (
            (home.scratch / "first").exists() and _states(home, "cleared", rid)["slow"] == "running"
        ),
        30,
        "slow running",
    )
    with home.env.db.session() as s:
        cleared = clear_task_instances(
            s, "cleared", task_ids=["slow"], run_id=rid, now=home.env.now()
        )
    assert [t.task_id for t in cleared] == ["slow"]
    home.env.wake()
    runs = home.wait_for(lambda: _finished(home, "cleared"), 60, "the cleared task to run again")
    assert runs[0].state == "success"
    tis = _tis(home, "cleared", rid)
    assert (
        tis["slow"].try_number == 2
        and tis["other"].state == "success"
        and tis["other"].try_number == 1
    )
    with home.env.db.session(readonly=True) as s:
        assert run_service.get_run(s, "cleared", rid).state == "success"
