"""The real scheduler (a `tradewind scheduler` process) running DAGs end to end."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tradewind.services import runs as run_service
from tradewind.services.task_instances import tries

from .conftest import BOTH_DATABASES, Home

pytestmark = pytest.mark.slow


def _runs(home: Home, dag_id: str) -> list:
    with home.env.db.session(readonly=True) as s:
        return run_service.list_runs(s, dag_id, limit=1000, newest_first=False)


def _states(home: Home, dag_id: str, run_id: str) -> dict[str, str | None]:
    with home.env.db.session(readonly=True) as s:
        return {t.task_id: t.state for t in run_service.task_states(s, dag_id, run_id)}


def _tis(home: Home, dag_id: str, run_id: str) -> dict:
    with home.env.db.session(readonly=True) as s:
        return {t.task_id: t for t in run_service.task_states(s, dag_id, run_id)}


def _finished(home: Home, dag_id: str, n: int = 1) -> list | None:
    runs = _runs(home, dag_id)
    done = [r for r in runs if r.state in ("success", "failed")]
    return runs if len(done) >= n else None


def _trigger(home: Home, dag_id: str, **kw) -> str:
    home.wait_for(lambda: _dag_known(home, dag_id), 30, f"DAG {dag_id} parsed")
    with home.env.db.session() as s:
        run = run_service.trigger_run(s, dag_id, now=home.env.now(), **kw)
        rid = run.run_id
    home.env.wake()
    return rid


def _dag_known(home: Home, dag_id: str) -> bool:
    from tradewind.errors import NotFound
    from tradewind.services.dag_store import get_serialized_dag

    try:
        with home.env.db.session(readonly=True) as s:
            get_serialized_dag(s, dag_id)
        return True
    except NotFound:
        return False


def test_catchup_creates_every_missed_interval_and_runs_them(home: Home) -> None:
    start = (datetime.now(timezone.utc) - timedelta(days=3)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    home.write_dag(
        "catchup.py",
        f"""
        from datetime import datetime, timezone
        from tradewind import DAG
        from tradewind.operators.empty import EmptyOperator
        for dag_id, catchup in (("with_catchup", True), ("no_catchup", False)):
            with DAG(dag_id, schedule="@daily", start_date=datetime.fromisoformat("{start.isoformat()}"), catchup=catchup):
                EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
    """,
    )
    home.start_scheduler()
    runs = home.wait_for(lambda: _finished(home, "with_catchup", 3), 60, "3 catchup runs")
    assert [r.state for r in runs[:3]] == ["success"] * 3
    starts = [r.data_interval_start for r in runs[:3]]
    assert starts == [start, start + timedelta(days=1), start + timedelta(days=2)]
    assert all(r.data_interval_end - r.data_interval_start == timedelta(days=1) for r in runs[:3])
    assert all(
        r.logical_date == r.data_interval_start and r.run_type == "scheduled" for r in runs[:3]
    )
    only = home.wait_for(
        lambda: _finished(home, "no_catchup", 1), 30, "the latest run without catchup"
    )
    time.sleep(1.0)
    only = _runs(home, "no_catchup")
    assert len(only) == 1, "without catchup only the latest interval runs"
    assert only[0].data_interval_start == start + timedelta(days=2)


@BOTH_DATABASES
def test_retries_wait_with_exponential_backoff_then_succeed(home: Home) -> None:
    home.write_dag(
        "flaky.py",
        """
        import os
        from datetime import datetime, timedelta
        from tradewind import DAG
        from tradewind.operators.python import PythonOperator

        def flaky():
            path = os.path.join(os.environ["TW_SCRATCH"], "attempts")
            n = int(open(path).read()) if os.path.exists(path) else 0
            open(path, "w").write(str(n + 1))
            if n < 2:
                raise RuntimeError(f"flaky failure number {n + 1}")
            return "ok"

        with DAG("flaky", schedule=None, start_date=datetime(2026, 1, 1)):
            PythonOperator(task_id="flaky", python_callable=flaky, retries=3,
                           retry_delay=timedelta(seconds=1), retry_exponential_backoff=True)
    """,
    )
    home.start_scheduler()
    rid = _trigger(home, "flaky")
    home.wait_for(lambda: _finished(home, "flaky"), 60, "flaky run to finish")
    ti = _tis(home, "flaky", rid)["flaky"]
    assert ti.state == "success" and ti.try_number == 3
    with home.env.db.session(readonly=True) as s:
        history = tries(s, "flaky", rid, "flaky")
    assert [h.state for h in history] == ["up_for_retry", "up_for_retry", "success"]
    gap1 = (history[1].start_date - history[0].end_date).total_seconds()
    gap2 = (history[2].start_date - history[1].end_date).total_seconds()
    assert 1.0 <= gap1 < 3.0, gap1
    assert 2.0 <= gap2 < 5.0, gap2  # the delay doubled
    log = (
        home.path / "logs" / "dag_id=flaky" / f"run_id={rid}" / "task_id=flaky" / "attempt=1.log"
    ).read_text()
    assert "flaky failure number 1" in log


@BOTH_DATABASES
def test_trigger_rules_and_branching_end_to_end(home: Home) -> None:
    home.write_dag(
        "branchy.py",
        """
        from datetime import datetime
        from tradewind import DAG, task
        from tradewind.operators.empty import EmptyOperator
        from tradewind.operators.bash import BashOperator

        with DAG("branchy", schedule=None, start_date=datetime(2026, 1, 1)):
            @task.branch
            def choose():
                return "left"

            left = EmptyOperator(task_id="left")
            right = EmptyOperator(task_id="right")
            join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
            after_right = EmptyOperator(task_id="after_right")
            boom = BashOperator(task_id="boom", bash_command="exit 3")
            cleanup = EmptyOperator(task_id="cleanup", trigger_rule="all_done")
            on_fail = EmptyOperator(task_id="on_fail", trigger_rule="one_failed")
            never = EmptyOperator(task_id="never")
            choose() >> [left, right]
            [left, right] >> join
            right >> after_right
            join >> boom >> [cleanup, on_fail, never]
    """,
    )
    home.start_scheduler()
    rid = _trigger(home, "branchy")
    runs = home.wait_for(lambda: _finished(home, "branchy"), 60, "branchy run")
    assert runs[0].state == "failed"
    assert _states(home, "branchy", rid) == {
        "choose": "success",
        "left": "success",
        "right": "skipped",
        "after_right": "skipped",
        "join": "success",
        "boom": "failed",
        "cleanup": "success",
        "on_fail": "success",
        "never": "upstream_failed",
    }


@BOTH_DATABASES
def test_pool_limits_concurrency(home: Home) -> None:
    home.cli("pools", "set", "two", "2", "two slots")
    home.write_dag(
        "pooled.py",
        """
        import os, time, json
        from datetime import datetime
        from tradewind import DAG
        from tradewind.operators.python import PythonOperator

        def work(n):
            t0 = time.time(); time.sleep(0.4)
            with open(os.path.join(os.environ["TW_SCRATCH"], "spans"), "a") as f:
                f.write(json.dumps([n, t0, time.time()]) + "\\n")

        with DAG("pooled", schedule=None, start_date=datetime(2026, 1, 1)):
            for i in range(6):
                PythonOperator(task_id=f"w{i}", python_callable=work, op_args=[i], pool="two")
    """,
    )
    home.start_scheduler()
    _trigger(home, "pooled")
    runs = home.wait_for(lambda: _finished(home, "pooled"), 60, "pooled run")
    assert runs[0].state == "success"
    spans = [json.loads(line) for line in (home.scratch / "spans").read_text().splitlines()]
    assert len(spans) == 6
    points = sorted([(s, 1) for _, s, _ in spans] + [(e, -1) for _, _, e in spans])
    peak = cur = 0
    for _, d in points:
        cur += d
        peak = max(peak, cur)
    assert peak == 2, f"at most 2 tasks of the pool may run at once, saw {peak}"


def test_backfill_of_a_month_is_run_by_the_scheduler(home: Home) -> None:
    home.write_dag(
        "daily.py",
        """
        from datetime import datetime, timezone
        from tradewind import DAG
        from tradewind.operators.bash import BashOperator
        with DAG("daily", schedule="@daily", start_date=datetime(2026, 1, 1, tzinfo=timezone.utc), catchup=False, is_paused_upon_creation=True):
            BashOperator(task_id="echo", bash_command="echo {{ ds }}")
    """,
    )
    home.start_scheduler()
    home.wait_for(lambda: _dag_known(home, "daily"), 30, "DAG parsed")
    out = home.cli(
        "dags",
        "backfill",
        "daily",
        "-s",
        "2026-01-01",
        "-e",
        "2026-01-31",
        "--max-active-runs",
        "8",
    )
    assert "31" in out.stdout + out.stderr
    runs = home.wait_for(
        lambda: (lambda r: r if len(r) == 31 and all(x.state == "success" for x in r) else None)(
            _runs(home, "daily")
        ),
        120,
        "31 backfill runs",
    )
    assert sorted(r.logical_date.date().isoformat() for r in runs) == [
        f"2026-01-{d:02d}" for d in range(1, 32)
    ]
    assert {r.run_type for r in runs} == {"backfill"}
    log = (
        home.path
        / "logs"
        / "dag_id=daily"
        / f"run_id={runs[0].run_id}"
        / "task_id=echo"
        / "attempt=1.log"
    )
    assert runs[0].logical_date.date().isoformat() in log.read_text()


def test_manual_trigger_with_conf_reaches_the_task_and_bad_conf_is_refused(home: Home) -> None:
    home.write_dag(
        "conf.py",
        """
        import os
        from datetime import datetime
        from tradewind import DAG, Param
        from tradewind.operators.bash import BashOperator
        with DAG("confd", schedule=None, start_date=datetime(2026, 1, 1), params={"x": Param(1, type="integer")}):
            BashOperator(task_id="show", bash_command="echo x={{ params.x }} > $TW_SCRATCH/x.txt")
    """,
    )
    home.start_scheduler()
    home.wait_for(lambda: _dag_known(home, "confd"), 30, "DAG parsed")
    bad = home.cli("dags", "trigger", "confd", "--conf", '{"x": "not a number"}', check=False)
    assert bad.returncode != 0 and "x" in bad.stderr and "integer" in bad.stderr
    home.cli("dags", "trigger", "confd", "--conf", '{"x": 41}')
    home.wait_for(lambda: _finished(home, "confd"), 60, "confd run")
    assert (home.scratch / "x.txt").read_text().strip() == "x=41"


def test_sigterm_stops_scheduler_workers_and_running_tasks(home: Home) -> None:
    home.write_dag(
        "sleepy.py",
        """
        import os, time
        from datetime import datetime
        from tradewind import DAG
        from tradewind.operators.python import PythonOperator
        def sleepy():
            open(os.path.join(os.environ["TW_SCRATCH"], "pid"), "w").write(str(os.getpid()))
            time.sleep(300)
        with DAG("sleepy", schedule=None, start_date=datetime(2026, 1, 1)):
            PythonOperator(task_id="sleep", python_callable=sleepy)
    """,
    )
    proc = home.start_scheduler()
    _trigger(home, "sleepy")
    pid_file = home.scratch / "pid"
    home.wait_for(pid_file.exists, 30, "the task to start")
    task_pid = int(pid_file.read_text())
    descendants = _descendants(proc.pid)
    assert task_pid in descendants
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=40)
    # A killed task process may still be exiting when the scheduler is gone (more so on a
    # loaded machine): wait for them all to be gone rather than look once after a fixed pause.
    deadline = time.monotonic() + 15
    while (alive := [p for p in descendants if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert alive == [], f"processes left behind after SIGTERM: {alive}"


def _descendants(pid: int) -> set[int]:
    out: set[int] = set()
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        for c in children:
            out.add(int(c))
            stack.append(int(c))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


@BOTH_DATABASES
def test_kill_9_of_the_scheduler_mid_run_loses_nothing(home: Home) -> None:
    home.write_dag(
        "long.py",
        """
        import os, time, json
        from datetime import datetime, timedelta
        from tradewind import DAG
        from tradewind.operators.python import PythonOperator
        def step(name):
            t0 = time.time()
            time.sleep(1.5)
            with open(os.path.join(os.environ["TW_SCRATCH"], "spans"), "a") as f:
                f.write(json.dumps([name, t0, time.time()]) + "\\n")
        with DAG("long", schedule=None, start_date=datetime(2026, 1, 1), default_args={"retries": 2, "retry_delay": timedelta(seconds=0)}):
            PythonOperator(task_id="one", python_callable=step, op_args=["one"]) >> PythonOperator(task_id="two", python_callable=step, op_args=["two"])
    """,
    )
    proc = home.start_scheduler()
    rid = _trigger(home, "long")
    home.wait_for(
        lambda: _states(home, "long", rid).get("one") == "running", 30, "task one running"
    )
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    home.start_scheduler()
    runs = home.wait_for(lambda: _finished(home, "long"), 90, "the run to finish after a restart")
    assert runs[0].state == "success"
    spans = [json.loads(line) for line in (home.scratch / "spans").read_text().splitlines()]
    for name in ("one", "two"):
        mine = sorted((s, e) for n, s, e in spans if n == name)
        assert mine, f"{name} never completed"
        assert all(
            a_end <= b_start for (_, a_end), (b_start, _) in zip(mine, mine[1:], strict=False)
        ), f"{name} ran twice at once"


def test_kill_9_of_a_task_process_is_retried(home: Home) -> None:
    home.write_dag(
        "victim.py",
        """
        import os, time
        from datetime import datetime, timedelta
        from tradewind import DAG
        from tradewind.operators.python import PythonOperator
        def victim():
            marker = os.path.join(os.environ["TW_SCRATCH"], "pid")
            if not os.path.exists(marker):
                open(marker, "w").write(str(os.getpid()))
                time.sleep(300)
            return "second try"
        with DAG("victim", schedule=None, start_date=datetime(2026, 1, 1)):
            PythonOperator(task_id="victim", python_callable=victim, retries=1, retry_delay=timedelta(seconds=0))
    """,
    )
    home.start_scheduler()
    rid = _trigger(home, "victim")
    pid_file = home.scratch / "pid"
    home.wait_for(lambda: pid_file.exists() and pid_file.read_text(), 30, "the task to start")
    os.kill(int(pid_file.read_text()), signal.SIGKILL)
    runs = home.wait_for(lambda: _finished(home, "victim"), 60, "the retry to succeed")
    assert runs[0].state == "success"
    ti = _tis(home, "victim", rid)["victim"]
    assert ti.try_number == 2
    log1 = (
        home.path / "logs" / "dag_id=victim" / f"run_id={rid}" / "task_id=victim" / "attempt=1.log"
    )
    # The log of the killed try says why it ended, once its supervisor noticed: at once for
    # the local executor, when Celery sees its pool process gone (can be a few seconds later).
    home.wait_for(
        lambda: log1.exists() and "SIGKILL" in log1.read_text(), 20, "SIGKILL in the log of try 1"
    )


def test_high_priority_wide_task_is_not_starved_by_a_stream_of_small_ones(home: Home) -> None:
    home.cli("pools", "set", "four", "4", "four slots")
    home.write_dag(
        "stream.py",
        """
        import time
        from datetime import datetime
        from tradewind import DAG
        from tradewind.operators.python import PythonOperator
        with DAG("stream", schedule=None, start_date=datetime(2026, 1, 1), max_active_tasks=64):
            gate = PythonOperator(task_id="gate", python_callable=lambda: time.sleep(0.6), pool="four", priority_weight=1, weight_rule="absolute")
            big = PythonOperator(task_id="big", python_callable=lambda: time.sleep(0.2), pool="four", pool_slots=4, priority_weight=10, weight_rule="absolute")
            gate >> big
            for i in range(24):
                PythonOperator(task_id=f"small{i:02d}", python_callable=lambda: time.sleep(0.5), pool="four", priority_weight=1, weight_rule="absolute")
    """,
    )
    home.start_scheduler()
    rid = _trigger(home, "stream")
    runs = home.wait_for(lambda: _finished(home, "stream"), 120, "stream run")
    assert runs[0].state == "success"
    tis = _tis(home, "stream", rid)
    ready_at = tis["gate"].end_date
    waited = (tis["big"].start_date - ready_at).total_seconds()
    last_small = max(t.end_date for k, t in tis.items() if k.startswith("small"))
    assert waited < 2.0, f"the 4-slot task waited {waited:.2f}s after becoming ready"
    assert tis["big"].start_date < last_small, "the wide task must not wait for the whole stream"


def test_task_and_dag_callbacks_run_after_the_state_is_committed(home: Home) -> None:
    home.write_dag(
        "callbacks.py",
        """
        import json, os
        from datetime import datetime
        from tradewind import DAG
        from tradewind.operators.bash import BashOperator

        def note(name):
            def callback(context):
                ti = context.get("ti")
                line = {"cb": name, "run_id": context.get("run_id"), "task": getattr(ti, "task_id", None)}
                with open(os.path.join(os.environ["TW_SCRATCH"], "callbacks"), "a") as f:
                    f.write(json.dumps(line) + "\\n")
            return callback

        for dag_id, command in (("cb_ok", "true"), ("cb_fail", "exit 1")):
            with DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1),
                     on_success_callback=note(dag_id + ":dag_success"), on_failure_callback=note(dag_id + ":dag_failure")):
                BashOperator(task_id="t", bash_command=command,
                             on_success_callback=note(dag_id + ":task_success"), on_failure_callback=note(dag_id + ":task_failure"))
    """,
    )
    home.start_scheduler()
    ok_run = _trigger(home, "cb_ok")
    fail_run = _trigger(home, "cb_fail")

    def seen() -> list[dict]:
        path = home.scratch / "callbacks"
        lines = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
        return lines if len(lines) >= 4 else []

    lines = home.wait_for(seen, 60, "four callbacks")
    got = {(x["cb"], x["run_id"]) for x in lines}
    assert got == {
        ("cb_ok:task_success", ok_run),
        ("cb_ok:dag_success", ok_run),
        ("cb_fail:task_failure", fail_run),
        ("cb_fail:dag_failure", fail_run),
    }
    assert [r.state for r in _runs(home, "cb_fail")] == ["failed"]


def test_max_active_tis_per_dag_limits_one_task_across_runs(home: Home) -> None:
    home.write_dag(
        "limited.py",
        """
        import json, os, time
        from datetime import datetime
        from tradewind import DAG
        from tradewind.operators.python import PythonOperator
        def work():
            t0 = time.time(); time.sleep(0.4)
            with open(os.path.join(os.environ["TW_SCRATCH"], "spans"), "a") as f:
                f.write(json.dumps([t0, time.time()]) + "\\n")
        with DAG("limited", schedule=None, start_date=datetime(2026, 1, 1), max_active_runs=5):
            PythonOperator(task_id="only_one", python_callable=work, max_active_tis_per_dag=1)
    """,
    )
    home.start_scheduler()
    for _ in range(3):
        _trigger(home, "limited")
    home.wait_for(lambda: _finished(home, "limited", 3), 60, "three runs")
    spans = sorted(json.loads(x) for x in (home.scratch / "spans").read_text().splitlines())
    assert len(spans) == 3
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), (
        "two tries of the task overlapped"
    )
