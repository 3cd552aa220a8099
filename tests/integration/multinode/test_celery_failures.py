"""Nodes dying mid-run: a worker (kill -9), one of two schedulers; SQLite refusing a 2nd scheduler."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from mn_cluster import scheduler_argv
from mn_dags import chain_dag, read_marks

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def _wait_state(
    cluster, dag_id: str, run_id: str, task_id: str, state: str, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        ti = {t.task_id: t for t in cluster.ti_rows(dag_id, run_id)}.get(task_id)
        if ti is not None and ti.state == state:
            return
        assert time.monotonic() < deadline, (
            f"{task_id} is {ti and ti.state}, not {state}\n{cluster.tails()}"
        )
        time.sleep(0.05)


def test_worker_killed_mid_task_is_retried_elsewhere(make_cluster, tmp_path):
    cluster = make_cluster("redis", heartbeat_timeout=3.0)
    out = str(tmp_path / "marks.txt")
    cluster.add_dag("chain.py", chain_dag("chain", out, n=6, retries=1, sleep=4.0))
    cluster.parse()
    cluster.start_webserver()
    workers = [cluster.start_worker(f"w{i}", concurrency=1) for i in range(2)]
    cluster.start_scheduler()
    cluster.trigger("chain", "r1")
    _wait_state(cluster, "chain", "r1", "t03", "running")
    victim = next(w for w in workers if "chain.t03 of r1" in w.text())
    victim.kill9()
    started = time.monotonic()
    assert cluster.wait_runs(["r1"], timeout=60) == {"r1": "success"}
    # heartbeat timeout (3 s) + retry delay (0) + the task's own 4 s, with slack for a busy machine
    assert time.monotonic() - started < 25
    tis = {t.task_id: t for t in cluster.ti_rows("chain", "r1")}
    assert tis["t03"].try_number == 2
    marks = read_marks(out)
    assert sorted(m[1] for m in marks) == [
        f"t{i:02d}" for i in range(6)
    ]  # each ran to completion once
    assert [m[2] for m in marks if m[1] == "t03"] == [2]


def test_killed_scheduler_leaves_the_other_to_finish(make_cluster, tmp_path):
    cluster = make_cluster("redis")
    out = str(tmp_path / "marks.txt")
    cluster.add_dag("chain.py", chain_dag("chain", out, n=8, sleep=0.5))
    cluster.parse()
    cluster.start_webserver()
    cluster.start_worker("w", concurrency=2)
    first = cluster.start_scheduler("s1")
    cluster.start_scheduler("s2")
    runs = [f"r{i}" for i in range(4)]
    for r in runs:
        cluster.trigger("chain", r)
    _wait_state(cluster, "chain", "r0", "t02", "success")
    first.kill9()
    assert set(cluster.wait_runs(runs, timeout=90).values()) == {"success"}
    marks = read_marks(out)
    assert len(marks) == len(set((m[0], m[1]) for m in marks)) == 8 * len(runs)


def test_sqlite_refuses_a_second_scheduler(tmp_path):
    from sqlalchemy import select

    from tradewind.metastore.tables import Job
    from tradewind.services.env import Env
    from tradewind.services.install import write_config_file
    from tradewind.settings import load_settings

    home = tmp_path / "home"
    environ = {"TRADEWIND__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "30"}
    write_config_file(load_settings(home, environ=environ))
    db = Env.from_settings(load_settings(home, environ=environ)).db
    db.migrate()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND")}
    env.update(environ, TRADEWIND_HOME=str(home))
    argv = scheduler_argv()
    with open(tmp_path / "first.out", "wb") as fh:
        first = subprocess.Popen(
            argv, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            with db.session(readonly=True) as s:
                if s.execute(select(Job.id).where(Job.job_type == "SchedulerJob")).first():
                    break
            assert first.poll() is None and time.monotonic() < deadline, (
                tmp_path / "first.out"
            ).read_text()
            time.sleep(0.1)
        second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
        assert second.returncode != 0
        assert (
            "another scheduler (pid" in second.stderr
            and "use PostgreSQL to run several" in second.stderr
        )
        assert first.poll() is None
    finally:
        os.killpg(first.pid, signal.SIGTERM)
        first.wait(10)
