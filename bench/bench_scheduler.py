"""W1 fan-out and W2 chain against a running ``tradewind scheduler`` (SQLite, LocalExecutor).

For each workload: a fresh TRADEWIND_HOME, the workload file copied into its DAGs folder and
parsed, the scheduler started in a subprocess (``--skip-dag-processor``), then 3 runs
triggered one after another through ``services.runs.trigger_run`` + ``env.wake()``. Prints
JSON lines: trigger -> success time, per-task cost, and for the chain the median gap between
one task's end_date and the next one's start_date.

Also: the scheduler process's own CPU per task (user + system of its main process, not of
its workers) and the whole tree's (the workers and their children included).
``fanout10`` and ``fanout10000`` (1 run; ~1 min) give the ends of the per-task-cost curve.

Usage: bench_scheduler.py [fanout100|fanout1000|chain20|fanout10|fanout10000 ...]
(default: fanout100 fanout1000 chain20)
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from measure import WORKLOADS, emit, make_home, parse_dags, start_scheduler, stop_scheduler

RUNS = 3
PARALLELISM = 4


@dataclass
class Workload:
    """One scenario: which file, how many tasks, which DAG id."""

    name: str
    file: str
    dag_id: str
    n: int
    env_var: str


SCENARIOS = {
    "fanout100": Workload("w1_fanout_100", "fanout.py", "bench_fanout", 100, "BENCH_FANOUT_N"),
    "fanout1000": Workload("w1_fanout_1000", "fanout.py", "bench_fanout", 1000, "BENCH_FANOUT_N"),
    "chain20": Workload("w2_chain_20", "chain.py", "bench_chain", 20, "BENCH_CHAIN_N"),
    "fanout10": Workload("w1_fanout_10", "fanout.py", "bench_fanout", 10, "BENCH_FANOUT_N"),
    "fanout10000": Workload(
        "w1_fanout_10000", "fanout.py", "bench_fanout", 10000, "BENCH_FANOUT_N"
    ),
}
DEFAULT = ["fanout100", "fanout1000", "chain20"]
_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, tree: bool = False) -> float:
    """User + system CPU of ``pid`` (with ``tree``: plus its children's, live and reaped)."""

    def one(p: int, reaped: bool) -> float:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        ticks = int(fields[11]) + int(fields[12])
        if reaped:
            ticks += int(fields[13]) + int(fields[14])
        return ticks / _TICK

    total = one(pid, tree)
    if tree:
        try:
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            kids = []
        total += sum(one(int(k), True) for k in kids)
    return total


def run_once(env_obj: object, dag_id: str, timeout: float) -> tuple[float, float, list[float]]:
    """Trigger one run, wait for it to end; return (s trigger->end, s trigger->first start, gaps)."""
    from tradewind.core.clock import utcnow
    from tradewind.services import runs

    env = env_obj  # a tradewind.services.env.Env
    started = utcnow()
    with env.db.session() as s:  # type: ignore[attr-defined]
        run_id = runs.trigger_run(s, dag_id, now=started).run_id
    env.wake()  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while True:
        with env.db.session(readonly=True) as s:  # type: ignore[attr-defined]
            run = runs.get_run(s, dag_id, run_id)
            if run.state in ("success", "failed"):
                if run.state != "success":
                    raise SystemExit(f"{dag_id} {run_id} ended {run.state}")
                tis = sorted(runs.task_states(s, dag_id, run_id), key=lambda t: t.start_date)
                gaps = [
                    (b.start_date - a.end_date).total_seconds()
                    for a, b in zip(tis, tis[1:], strict=False)
                ]
                first = (tis[0].start_date - started).total_seconds()
                return (run.end_date - started).total_seconds(), first, gaps
        if time.monotonic() > deadline:
            raise SystemExit(f"{dag_id} {run_id} still {run.state} after {timeout} s")
        time.sleep(0.02)


def bench(w: Workload) -> None:
    """Measure one scenario and print its JSON lines."""
    tmp = Path(tempfile.mkdtemp(prefix="twbench-"))
    proc = None
    try:
        env_vars = make_home(tmp, core__parallelism=PARALLELISM)
        env_vars[w.env_var] = str(w.n)
        shutil.copy(WORKLOADS / w.file, tmp / "dags" / w.file)
        parse_dags(env_vars)
        proc = start_scheduler(env_vars, tmp)
        from tradewind.services.env import Env
        from tradewind.settings import load_settings

        env = Env.from_settings(load_settings(tmp, environ=env_vars))
        totals: list[float] = []
        firsts: list[float] = []
        gap_medians: list[float] = []
        own: list[float] = []
        tree: list[float] = []
        for _ in range(1 if w.n > 1000 else RUNS):
            own0, tree0 = cpu_seconds(proc.pid), cpu_seconds(proc.pid, tree=True)
            total, first, gaps = run_once(env, w.dag_id, timeout=60 + w.n * 0.5)
            own.append((cpu_seconds(proc.pid) - own0) / w.n * 1000)
            tree.append((cpu_seconds(proc.pid, tree=True) - tree0) / w.n * 1000)
            totals.append(total)
            firsts.append(first * 1000)
            if gaps and w.file == "chain.py":
                gap_medians.append(statistics.median(gaps))
        extra = {"parallelism": PARALLELISM, "tasks": w.n, "executor": "LocalExecutor"}
        emit(f"{w.name}_trigger_to_success", totals, "s", **extra)
        emit(f"{w.name}_per_task", [t / w.n * 1000 for t in totals], "ms", **extra)
        emit(f"{w.name}_trigger_to_first_start", firsts, "ms", **extra)
        emit(f"{w.name}_scheduler_cpu_per_task", own, "ms", **extra)
        emit(f"{w.name}_tree_cpu_per_task", tree, "ms", **extra)
        if gap_medians:
            emit("w2_chain_gap_median", [g * 1000 for g in gap_medians], "ms", **extra)
        env.db.engine.dispose()
    except BaseException:
        print(f"kept {tmp} for inspection", file=sys.stderr)
        raise
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if proc is not None:
            stop_scheduler(proc)


def main() -> None:
    names = sys.argv[1:] or DEFAULT
    for name in names:
        bench(SCENARIOS[name])


if __name__ == "__main__":
    main()
