"""Celery benchmark: PostgreSQL + Redis + real webserver, scheduler and worker processes.

1. AIP-15 workload: 100 DAG files x 10 trivial tasks (1,000 tasks), time from unpausing all
   DAGs (one run each) to every run succeeded, with 1 scheduler + 2 workers, then 2 schedulers.
2. A 20-task chain through Celery: the median gap between one task's end and the next's start.
3. ``calls``: a try's claim and finish on the execution service, in this process, on
   PostgreSQL: statements and round trips (``BEGIN`` and ``COMMIT`` included) per task, and
   the service's CPU per task (what the web server spends below the HTTP layer).

Prints one JSON line per figure: {"metric": ..., "value": ..., "unit": "s", ...}.
Each figure also gives the CPU seconds each role used (webserver, schedulers, workers with
their forked tries), so a loaded machine can be judged by work done rather than wall time.
Usage: python bench/bench_celery.py [--concurrency 8] [--only chain,aip15_1,aip15_2,calls]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration" / "multinode"))

from mn_cluster import Cluster, postgres_database, reachable  # noqa: E402

TRIVIAL = """
from datetime import datetime
from tradewind import DAG
from tradewind.operators.empty import EmptyOperator
from tradewind.operators.python import PythonOperator

with DAG("aip15_{i:03d}", start_date=datetime(2024, 1, 1), schedule="@once", catchup=False) as dag:
    prev = None
    for j in range(10):
        t = PythonOperator(task_id=f"t{{j}}", python_callable=lambda: None)
        if prev is not None:
            prev >> t
        prev = t
"""

CHAIN = """
from datetime import datetime
from tradewind import DAG
from tradewind.operators.python import PythonOperator

with DAG("chain20", start_date=datetime(2024, 1, 1), schedule=None, catchup=False) as dag:
    prev = None
    for j in range(20):
        t = PythonOperator(task_id=f"t{j:02d}", python_callable=lambda: None)
        if prev is not None:
            prev >> t
        prev = t
"""


def cpu_seconds(cluster: Cluster) -> dict[str, float]:
    """CPU time (user+sys, reaped children included) of each started process group, by role."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    groups = {p.pid: p.name.rstrip("0123456789") for p in cluster.procs}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        role = groups.get(int(fields[2]))  # field 5 of stat: the process group id
        if role is not None:
            ticks = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
            out[role] = out.get(role, 0.0) + ticks / tick
    return {k: round(v, 2) for k, v in sorted(out.items())}


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - idle) / tick, sum(fields) / tick


def busy_share(before: tuple[float, float]) -> float:
    """How busy the machine's cores were since ``before`` (1.0: every core all the time)."""
    busy, total = machine_cpu()
    return round((busy - before[0]) / max(total - before[1], 1e-9), 2)


def emit(metric: str, value: float, **extra: object) -> None:
    print(
        json.dumps({"metric": metric, "value": round(value, 4), "unit": "s", **extra}), flush=True
    )


def aip15(root: Path, db_url: str, schedulers: int, workers: int, concurrency: int) -> None:
    """Time unpausing 100 DAGs of 10 chained tasks to all 100 runs succeeded."""
    from tradewind.services.dags import set_paused

    cluster = Cluster(
        root,
        db_url,
        "redis://127.0.0.1:6379/0",
        key_prefix=f"bench_{root.name}_{os.getpid()}:",
        extra_env={
            "TRADEWIND__CORE__DAGS_ARE_PAUSED_AT_CREATION": "true",
            "TRADEWIND__CORE__PARALLELISM": "64",
        },
    )
    try:
        for i in range(100):
            cluster.add_dag(f"aip15_{i:03d}.py", TRIVIAL.format(i=i))
        cluster.parse()
        cluster.start_webserver()
        for w in range(workers):
            cluster.start_worker(f"w{w}", concurrency=concurrency)
        for s in range(schedulers):
            cluster.start_scheduler(f"s{s}")
        started = time.monotonic()
        with cluster.env.db.session() as s:  # unpausing: the schedulers create the @once runs
            for i in range(100):
                set_paused(s, f"aip15_{i:03d}", False, now=cluster.env.now())
        cpu_before = cpu_seconds(cluster)
        machine_before = machine_cpu()
        cluster.env.wake()
        _wait_all_success(cluster, 100, timeout=900)
        total = time.monotonic() - started
        cpu = cpu_seconds(cluster)
        phases = _phases(cluster)
        emit(
            "aip15_1000_tasks_total",
            total,
            schedulers=schedulers,
            workers=workers,
            concurrency=concurrency,
            tasks=1000,
            tasks_per_s=round(1000 / total, 1),
            cpu_s={k: round(v - cpu_before.get(k, 0.0), 2) for k, v in cpu.items()},
            machine_busy=busy_share(machine_before),
            median_ms=phases,
            load=os.getloadavg()[0],
        )
    finally:
        cluster.close()


def _phases(cluster: Cluster) -> dict[str, float]:
    """Median milliseconds of each step of a task's life, over every task of the run.

    react: the upstream task's end -> this task queued (scheduler); dispatch: queued -> started
    (broker, waiting for a free worker slot, claim); run: started -> ended (the try itself).
    """
    from sqlalchemy import select

    from tradewind.metastore.tables import TaskInstance as T

    with cluster.env.db.session(readonly=True) as s:
        rows = s.execute(select(T.dag_id, T.task_id, T.queued_dttm, T.start_date, T.end_date)).all()
    by_key = {(r.dag_id, r.task_id): r for r in rows}
    react, dispatch, run = [], [], []
    for r in rows:
        if r.queued_dttm and r.start_date and r.end_date:
            dispatch.append((r.start_date - r.queued_dttm).total_seconds())
            run.append((r.end_date - r.start_date).total_seconds())
        n = int(r.task_id[1:])
        up = by_key.get((r.dag_id, f"t{n - 1}")) if n > 0 else None
        if up is not None and up.end_date and r.queued_dttm:
            react.append((r.queued_dttm - up.end_date).total_seconds())
    return {
        k: round(statistics.median(v) * 1000, 1)
        for k, v in (("react", react), ("dispatch", dispatch), ("run", run))
        if v
    }


def _wait_all_success(cluster: Cluster, n: int, timeout: float) -> None:
    from tradewind.services.runs import count_runs

    deadline = time.monotonic() + timeout
    while True:
        with cluster.env.db.session(readonly=True) as s:
            done, failed = count_runs(s, state="success"), count_runs(s, state="failed")
        if done >= n:
            return
        if failed or time.monotonic() > deadline:
            raise SystemExit(
                f"runs did not all succeed: {done} of {n}, {failed} failed\n{cluster.tails()}"
            )
        time.sleep(0.05)


def chain_gap(root: Path, db_url: str, concurrency: int) -> None:
    """Median gap between a task's end and the next task's start in a 20-task chain."""
    cluster = Cluster(
        root, db_url, "redis://127.0.0.1:6379/0", key_prefix=f"bench_{root.name}_{os.getpid()}:"
    )
    try:
        cluster.add_dag("chain20.py", CHAIN)
        cluster.parse()
        cluster.start_webserver()
        cluster.start_worker("w0", concurrency=concurrency)
        cluster.start_scheduler("s0")
        cluster.trigger("chain20", "warmup")
        cluster.wait_runs(["warmup"], timeout=120)
        cpu_before = cpu_seconds(cluster)
        cluster.trigger("chain20", "bench")
        cluster.wait_runs(["bench"], timeout=120)
        cpu = cpu_seconds(cluster)
        tis = sorted(cluster.ti_rows("chain20", "bench"), key=lambda t: t.task_id)
        gaps = [
            (b.start_date - a.end_date).total_seconds() for a, b in zip(tis, tis[1:], strict=False)
        ]
        emit(
            "celery_chain20_task_gap_median",
            statistics.median(gaps),
            p90=round(sorted(gaps)[int(len(gaps) * 0.9)], 4),
            max=round(max(gaps), 4),
            tasks=20,
            cpu_s={k: round(v - cpu_before.get(k, 0.0), 2) for k, v in cpu.items()},
            load=os.getloadavg()[0],
        )
    finally:
        cluster.close()


CALLS_DAG = """
from datetime import datetime
from tradewind import DAG
from tradewind.operators.empty import EmptyOperator

with DAG("calls", start_date=datetime(2024, 1, 1), schedule=None, catchup=False) as dag:
    for j in range({n}):
        EmptyOperator(task_id=f"t{{j:04d}}")
"""


def calls(root: Path, db_url: str, n: int = int(os.environ.get("BENCH_CALLS", "300"))) -> None:
    """Claim and finish ``n`` queued tries through ExecutionService on PostgreSQL: round trips
    and CPU per task."""
    from sqlalchemy import event

    from tradewind.services.execution import ExecutionService
    from tradewind.services.testing import make_test_run, queue_single_task

    cluster = Cluster(root, db_url, "redis://127.0.0.1:6379/0")
    try:
        cluster.add_dag("calls.py", CALLS_DAG.format(n=n))
        cluster.parse()
        env = cluster.env
        env.wake = lambda *_: None
        run_id = make_test_run(env, "calls", env.now(), None)
        loads = [queue_single_task(env, "calls", run_id, f"t{j:04d}") for j in range(n)]
        service = ExecutionService(env)
        counts = {"statements": 0, "transactions": 0}
        open_tx: set[int] = set()

        def on_execute(conn: Any, *_: Any) -> None:
            counts["statements"] += 1
            dbapi = conn.connection.dbapi_connection
            if not dbapi.autocommit and id(dbapi) not in open_tx:
                open_tx.add(id(dbapi))  # psycopg sends BEGIN before this statement
                counts["transactions"] += 1

        def on_end(conn: Any) -> None:
            open_tx.discard(id(conn.connection.dbapi_connection))

        event.listen(env.db.engine, "before_cursor_execute", on_execute)
        event.listen(env.db.engine, "commit", on_end)
        event.listen(env.db.engine, "rollback", on_end)
        warm = 20  # prepared statements, the DAG cache
        for w in loads[:warm]:
            service.claim(w.ti_id, w.token, "bench", os.getpid())
            service.finish(w.ti_id, w.token, "success", log="a line\n")
        counts.update(statements=0, transactions=0)
        cpu = time.process_time()
        for w in loads[warm:]:
            service.claim(w.ti_id, w.token, "bench", os.getpid())
            service.finish(w.ti_id, w.token, "success", log="a line\n")
        cpu = time.process_time() - cpu
        tasks = n - warm
        statements = counts["statements"] / tasks
        transactions = counts["transactions"] / tasks
        emit(
            "celery_calls_claim_finish_cpu_per_task",
            cpu / tasks,
            tasks=tasks,
            statements_per_task=round(statements, 2),
            transactions_per_task=round(transactions, 2),
            round_trips_per_task=round(statements + 2 * transactions, 2),
            load=os.getloadavg()[0],
        )
    finally:
        cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--only",
        default="chain,aip15_1,aip15_2",
        help="comma-separated: chain,aip15_1,aip15_2,calls",
    )
    args = parser.parse_args()
    # Stopped (timeout, Ctrl-C from a wrapper): still stop the cluster's processes, which run
    # in their own sessions and would otherwise live on and take other runs' messages.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    only = set(args.only.split(","))
    if not (reachable(5432) and reachable(6379)):
        raise SystemExit(
            "bench_celery needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379"
        )
    with tempfile.TemporaryDirectory(prefix="tw_bench_celery_") as tmp:
        root = Path(tmp)
        if "chain" in only:
            with postgres_database() as url:
                chain_gap(root / "chain", url, args.concurrency)
        if "calls" in only:
            with postgres_database() as url:
                calls(root / "calls", url)
        for schedulers in (1, 2):
            if f"aip15_{schedulers}" in only:
                with postgres_database() as url:
                    aip15(
                        root / f"aip15_{schedulers}",
                        url,
                        schedulers,
                        workers=2,
                        concurrency=args.concurrency,
                    )


if __name__ == "__main__":
    main()
