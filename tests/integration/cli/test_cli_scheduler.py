"""``tradewind scheduler`` as a real process: it runs a backfill; SIGTERM leaves no orphans."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.integration.cli.dag_sources import SIMPLE, write_dag

TRADEWIND = [sys.executable, "-c", "from tradewind.cli.main import main; main()"]


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc)."""
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == parent and int(entry.name) not in found:
                found.add(int(entry.name))
                frontier.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_scheduler_runs_a_backfill_and_stops_cleanly(tw_home: Path) -> None:
    write_dag(tw_home / "dags", "simple.py", SIMPLE)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND")},
        "TRADEWIND_HOME": str(tw_home),
        "TRADEWIND__CORE__PARALLELISM": "2",
    }
    log = (tw_home / "scheduler.log").open("w")
    sched = subprocess.Popen(
        [*TRADEWIND, "scheduler"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # a backfill needs a live scheduler to wait for
            check = subprocess.run([*TRADEWIND, "jobs", "check"], env=env, capture_output=True)
            if check.returncode == 0:
                break
            time.sleep(0.3)
        backfill = subprocess.run(
            [*TRADEWIND, "dags", "backfill", "simple", "-s", "2026-01-01", "-e", "2026-01-03"],
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert backfill.returncode == 0, backfill.stdout + backfill.stderr
        assert "3 runs succeeded, 0 failed" in backfill.stdout
        runs = subprocess.run(
            [*TRADEWIND, "dags", "list-runs", "simple", "-o", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        states = {
            r["logical_date"][:10]: (r["state"], r["run_type"]) for r in json.loads(runs.stdout)
        }
        assert states == {f"2026-01-0{d}": ("success", "backfill") for d in (1, 2, 3)}
        children = _children(sched.pid)
        assert children, "the scheduler should have a DAG processor and workers"
        sched.send_signal(signal.SIGTERM)
        assert sched.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in children if _alive(p)], "orphan processes after SIGTERM"
    finally:
        if sched.poll() is None:
            sched.kill()
            sched.wait()
        log.close()
    assert "Scheduler stopped." in (tw_home / "scheduler.log").read_text()


def test_backfill_dry_run_lists_intervals_without_creating_runs(cli_runner, tw_home: Path) -> None:
    write_dag(tw_home / "dags", "simple.py", SIMPLE)
    plan = json.loads(
        cli_runner(
            "dags",
            "backfill",
            "simple",
            "-s",
            "2026-01-01",
            "-e",
            "2026-01-04",
            "--dry-run",
            "-o",
            "json",
        ).stdout
    )
    assert [p["logical_date"][:10] for p in plan] == [
        "2026-01-01",
        "2026-01-02",
        "2026-01-03",
        "2026-01-04",
    ]
    assert {p["action"] for p in plan} == {"create"}
    assert json.loads(cli_runner("dags", "list-runs", "simple", "-o", "json").stdout) == []


def test_backfill_no_wait_queues_the_runs(cli_runner, tw_home: Path) -> None:
    write_dag(tw_home / "dags", "simple.py", SIMPLE)
    result = cli_runner(
        "dags", "backfill", "simple", "-s", "2026-01-01", "-e", "2026-01-02", "--no-wait"
    )
    assert "2 new runs" in result.stdout
    assert "no scheduler is running" in result.stderr and "wait, queued" in result.stderr
    runs = json.loads(cli_runner("dags", "list-runs", "simple", "-o", "json").stdout)
    assert sorted((r["run_type"], r["state"]) for r in runs) == [("backfill", "queued")] * 2
    again = cli_runner(
        "dags", "backfill", "simple", "-s", "2026-01-03", "-e", "2026-01-04", "--no-wait", expect=1
    )
    assert "already has a backfill in progress" in again.stderr
