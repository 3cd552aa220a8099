"""Chaos: random kill -9 of the scheduler (its whole process group) or of a busy warm worker
while runs of a mixed 200-task DAG go on (SQLite, LocalExecutor, parallelism 4).

Each round triggers a run, waits a random moment, kills a random target, restarts the
scheduler if it was the target, and waits for the run to end. The heartbeat timeout is 300 s,
so every recovery measured here comes from the host/pid rule (a lost try is requeued at
once), not from a timeout. Prints JSON lines: per round, then the totals: runs, tasks, lost
tries, requeues, duplicates of finished tasks (a task instance with two successful tries:
must be 0), failed runs (must be 0), recovery time p50/p95 (kill or restart -> every try the
kill interrupted has moved on).

Usage: chaos.py [--rounds 20] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from measure import make_home, parse_dags, start_scheduler, stop_scheduler

DAG = """
import random, time
from datetime import datetime
from tradewind import DAG
from tradewind.operators.bash import BashOperator
from tradewind.operators.python import PythonOperator

def work(ms):
    time.sleep(ms / 1000)
    return ms

with DAG("chaos", schedule=None, start_date=datetime(2026, 1, 1), max_active_tasks=64):
    rng = random.Random(7)
    for c in range(40):  # 40 chains of 5: python and bash tasks, 20-200 ms each
        prev = None
        for i in range(5):
            ms = rng.randint(20, 200)
            if i % 2:
                t = BashOperator(task_id=f"c{c}_{i}", bash_command=f"sleep {ms / 1000}")
            else:
                t = PythonOperator(task_id=f"c{c}_{i}", python_callable=work, op_args=[ms])
            if prev is not None:
                prev >> t
            prev = t
"""


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def running(env_obj: object, run_id: str) -> set[tuple[int, int]]:
    from tradewind.services import runs

    with env_obj.db.session(readonly=True) as s:  # type: ignore[attr-defined]
        return {
            (t.id, t.try_number)
            for t in runs.task_states(s, "chaos", run_id)
            if t.state == "running"
        }


def running_pids(env_obj: object, run_id: str) -> set[int]:
    """The pids that the running tries of the run recorded at their claim."""
    from sqlalchemy import select

    from tradewind.metastore.tables import TaskInstance as T

    with env_obj.db.session(readonly=True) as s:  # type: ignore[attr-defined]
        rows = s.execute(
            select(T.pid).where(T.dag_id == "chaos", T.run_id == run_id, T.state == "running")
        ).scalars()
        return {int(p) for p in rows if p}


def wait_moved(
    env_obj: object, run_id: str, held: set[tuple[int, int]], start: float, timeout: float
) -> float:
    """Seconds from ``start`` until none of ``held`` is still running at the same try."""
    while time.monotonic() - start < timeout:
        if not (running(env_obj, run_id) & held):
            return time.monotonic() - start
        time.sleep(0.02)
    return float("nan")


def one_round(env_obj, home, env, proc, rng):  # noqa: ANN001, ANN201
    from tradewind.core.clock import utcnow
    from tradewind.services import runs

    with env_obj.db.session() as s:
        run_id = runs.trigger_run(s, "chaos", now=utcnow()).run_id
    env_obj.wake()
    time.sleep(rng.uniform(0.5, 3.0))
    target = rng.choice(["scheduler", "worker"])
    # A busy worker: it forked a child for its try, or runs the try itself (the default,
    # [local_executor] fork_per_try = false: the try's pid is the worker's).
    in_worker = running_pids(env_obj, run_id)
    busy = [w for w in children(proc.pid) if children(w) or w in in_worker]
    if target == "worker" and busy:
        start = time.monotonic()
        os.kill(rng.choice(busy), signal.SIGKILL)
        held = running(env_obj, run_id)  # (the dead worker's try among them)
        recovery = wait_moved(env_obj, run_id, held, start, 60)
    else:
        target = "scheduler"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        held = running(env_obj, run_id)  # what the dead scheduler's workers held
        start = time.monotonic()  # the restart: its start-up counts
        proc = start_scheduler(env, home, settle=0.0)
        recovery = wait_moved(env_obj, run_id, held, start, 60)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with env_obj.db.session(readonly=True) as s:
            state = runs.get_run(s, "chaos", run_id).state
        if state in ("success", "failed"):
            break
        time.sleep(0.1)
    return proc, {"run_id": run_id, "target": target, "held": len(held), "state": state,
                  "recovery_s": round(recovery, 3)}  # fmt: skip


def totals(env_obj: object) -> dict[str, int]:
    from sqlalchemy import func, select

    from tradewind.metastore.tables import DagRun, EventLog, TaskInstance, TaskInstanceHistory

    h = TaskInstanceHistory
    with env_obj.db.session(readonly=True) as s:  # type: ignore[attr-defined]
        successes = select(h.ti_id).where(h.state == "success").group_by(h.ti_id)
        return {
            "runs": s.scalar(select(func.count()).select_from(DagRun)) or 0,
            "tasks": s.scalar(select(func.count()).select_from(TaskInstance)) or 0,
            "lost_tries": s.scalar(select(func.count()).where(h.state == "lost")) or 0,
            "requeues": s.scalar(select(func.count()).where(EventLog.event == "lost_try_requeued"))
            or 0,
            "duplicates_of_finished_tasks": s.scalar(
                select(func.count()).select_from(successes.having(func.count() > 1).subquery())
            )
            or 0,
            "failed_runs": s.scalar(select(func.count()).where(DagRun.state == "failed")) or 0,
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    home = Path(tempfile.mkdtemp(prefix="tw-chaos-"))
    env = make_home(
        home,
        core__parallelism=4,
        core__dags_are_paused_at_creation="false",
        scheduler__task_instance_heartbeat_timeout=300,
        scheduler__scheduler_health_check_threshold=300,
    )
    (home / "dags").mkdir(exist_ok=True)
    (home / "dags" / "chaos.py").write_text(DAG)
    parse_dags(env)
    os.environ.update(env)
    from tradewind.services.env import Env
    from tradewind.settings import load_settings

    env_obj = Env.from_settings(load_settings())
    proc = start_scheduler(env, home)
    recoveries = []
    ok = True
    try:
        for n in range(args.rounds):
            proc, line = one_round(env_obj, home, env, proc, rng)
            recoveries.append(line["recovery_s"])
            ok = ok and line["state"] == "success"
            print(json.dumps({"round": n + 1, **line}), flush=True)
    finally:
        stop_scheduler(proc)
    found = totals(env_obj)
    rec = sorted(r for r in recoveries if r == r)
    summary = {
        "metric": "chaos",
        "rounds": args.rounds,
        "seed": args.seed,
        **found,
        "recovery_p50_s": round(statistics.median(rec), 3) if rec else None,
        "recovery_p95_s": round(rec[min(len(rec) - 1, int(0.95 * len(rec)))], 3) if rec else None,
    }
    print(json.dumps(summary), flush=True)
    if found["duplicates_of_finished_tasks"] or found["failed_runs"]:
        print(f"kept {home} (scheduler.out)", file=sys.stderr)
        sys.exit(1)
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
