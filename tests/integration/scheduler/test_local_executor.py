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


FORK_OR_NOT = pytest.mark.parametrize("fork_per_try", ["true", "false"])


@pytest.mark.slow
@FORK_OR_NOT
def test_a_crashing_task_process_is_reported_with_its_signal_or_exit_code(
    home: Home, fork_per_try: str
) -> None:
    """A try that segfaults or calls os._exit fails (not lost), whether it ran in a forked
    child or in the warm worker itself (which is then replaced)."""
    home.environ["TRADEWIND__LOCAL_EXECUTOR__FORK_PER_TRY"] = fork_per_try
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


STATEFUL = """
import os
from datetime import datetime
from tradewind import DAG
from tradewind.operators.python import PythonOperator
SEEN = []  # module-level state of the DAG file
def count(name):
    SEEN.append(name)
    with open(os.path.join(os.environ["TW_SCRATCH"], "seen"), "a") as f:
        f.write(f"{name}:{len(SEEN)}:{os.getpid()}\\n")
with DAG("stateful", schedule=None, start_date=datetime(2026, 1, 1)):
    a = PythonOperator(task_id="a", python_callable=count, op_args=["a"])
    b = PythonOperator(task_id="b", python_callable=count, op_args=["b"])
    a >> b
"""


@pytest.mark.parametrize(("fork_per_try", "seen_by_b"), [("false", 2), ("true", 1)])
def test_module_state_is_shared_by_tries_only_when_they_run_in_the_worker(
    home: Home, fork_per_try: str, seen_by_b: int
) -> None:
    """In the warm worker (the default) a DAG file's module-level state outlives a try, as in
    a Celery worker; with fork_per_try every try starts from the worker's untouched copy."""
    home.environ["TRADEWIND__CORE__PARALLELISM"] = "1"
    home.environ["TRADEWIND__LOCAL_EXECUTOR__FORK_PER_TRY"] = fork_per_try
    home.write_dag("stateful.py", STATEFUL)
    proc = home.start_scheduler()
    rid = _trigger(home, "stateful")
    runs = home.wait_for(lambda: _finished(home, "stateful"), 60, "the run to end")
    assert runs[0].state == "success", _states(home, "stateful", rid)
    lines = (home.scratch / "seen").read_text().split()
    seen = {name: (int(n), int(pid)) for name, n, pid in (line.split(":") for line in lines)}
    assert seen["a"][0] == 1 and seen["b"][0] == seen_by_b
    in_worker = seen["a"][1] == seen["b"][1]  # the same process ran both tries
    assert in_worker == (fork_per_try == "false")
    assert proc.pid not in (seen["a"][1], seen["b"][1])  # never the scheduler itself


STUBBORN = """
import os, time
from datetime import datetime, timedelta
from tradewind import DAG
from tradewind.operators.python import PythonOperator
def stubborn():
    open(os.path.join(os.environ["TW_SCRATCH"], "pid"), "w").write(str(os.getpid()))
    while True:  # swallows its own timeout (SIGALRM) and the SIGTERM that follows
        try:
            time.sleep(60)
        except BaseException:
            pass
with DAG("stubborn", schedule=None, start_date=datetime(2026, 1, 1)):
    PythonOperator(task_id="stubborn", python_callable=stubborn,
                   execution_timeout=timedelta(seconds=1))
    PythonOperator(task_id="after", python_callable=lambda: "ok")
"""


@pytest.mark.slow
def test_a_try_in_the_worker_that_ignores_its_timeout_is_killed_and_failed(home: Home) -> None:
    """Past execution_timeout + 5 s the scheduler stops the worker's try (SIGTERM), then
    kills the worker (SIGKILL): the try failed (no lost requeue), the worker is replaced."""
    home.environ["TRADEWIND__CORE__PARALLELISM"] = "1"
    home.write_dag("stubborn.py", STUBBORN)
    home.start_scheduler()
    rid = _trigger(home, "stubborn")
    runs = home.wait_for(lambda: _finished(home, "stubborn"), 60, "the run to end")
    assert runs[0].state == "failed"
    tis = _tis(home, "stubborn", rid)
    assert (tis["stubborn"].state, tis["stubborn"].try_number) == ("failed", 1)
    assert tis["after"].state == "success"  # ran on the replacement worker
    log = home.path / "logs" / "dag_id=stubborn" / f"run_id={rid}" / "task_id=stubborn"
    text = (log / "attempt=1.log").read_text()
    assert "execution_timeout of 1 s" in text and "did not stop within 2 s" in text
