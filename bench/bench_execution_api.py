"""Execution-API benchmark: web-server CPU per call of ``POST /execution/task-instances/...``.

A real ``tradewind webserver`` on a fresh PostgreSQL database; client processes play Celery
workers: for each queued task instance they call ``claim``, ``finish`` and ``logs`` (or
``finish`` with its ``log`` field: one call fewer), then ``heartbeat`` in a loop (the cheapest
call, so mostly the HTTP layer). Prints one JSON line per phase: the webserver's CPU
milliseconds per call (user+sys of its process group) and calls per second.
Usage: python bench/bench_execution_api.py [--tasks 600] [--clients 8]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration" / "multinode"))

from mn_cluster import Cluster, postgres_database, reachable  # noqa: E402

DAG = """
from datetime import datetime
from tradewind import DAG
from tradewind.operators.empty import EmptyOperator

with DAG("bench_api", start_date=datetime(2024, 1, 1), schedule=None, catchup=False) as dag:
    for j in range({n}):
        EmptyOperator(task_id=f"t{{j:04d}}")
"""
LOG = "[2024-01-01 00:00:00] INFO - a line of a task's log\n" * 40


def _cpu(pgid: int) -> tuple[float, float]:
    """User and sys CPU seconds (reaped children included) of the processes in group ``pgid``."""
    tick = os.sysconf("SC_CLK_TCK")
    user = system = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            user += int(fields[11]) + int(fields[13])
            system += int(fields[12]) + int(fields[14])
    return user / tick, system / tick


def _since(before: tuple[float, float], after: tuple[float, float]) -> tuple[float, float]:
    return after[0] - before[0], after[1] - before[1]


def _tries(url: str, work: list[tuple[int, str]], combined: bool) -> None:
    from tradewind.worker.http_client import HttpExecutionClient

    client = HttpExecutionClient(url)
    for ti_id, token in work:
        client.claim(ti_id, token, "bench", os.getpid())
        if combined:
            client.call(ti_id, "finish", token, {"outcome": "success", "error": None, "log": LOG})
        else:
            client.finish(ti_id, token, "success", None, None)
            client.upload_log(ti_id, token, LOG)
    client.close()


def _heartbeats(url: str, work: list[tuple[int, str]], n: int) -> None:
    from tradewind.worker.http_client import HttpExecutionClient

    client = HttpExecutionClient(url)
    for i in range(n):
        ti_id, token = work[i % len(work)]
        client.heartbeat(ti_id, token, os.getpid())
    client.close()


def _queue_all(cluster: Cluster, run_id: str) -> list[tuple[int, str]]:
    """Put every task instance of ``run_id`` in ``queued`` (try 1); return ids and tokens."""
    from sqlalchemy import text

    from tradewind.services.tokens import issue_ti_token

    with cluster.env.db.engine.begin() as c:
        ids = c.execute(
            text(
                "UPDATE task_instance SET state = 'queued', try_number = 1 "
                "WHERE dag_id = 'bench_api' AND run_id = :r RETURNING id"
            ),
            {"r": run_id},
        ).scalars()
        ids = sorted(ids)
    return [(i, issue_ti_token(cluster.env.secret_key, i, 1)) for i in ids]


def _run(procs: list[multiprocessing.Process]) -> float:
    started = time.monotonic()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        if p.exitcode:
            raise SystemExit(f"a client failed with exit code {p.exitcode}")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=600)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--heartbeats", type=int, default=3000)
    args = parser.parse_args()
    if not reachable(5432):
        raise SystemExit("bench_execution_api needs PostgreSQL on 127.0.0.1:5432")
    ctx = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="tw_bench_api_") as tmp, postgres_database() as db:
        cluster = Cluster(Path(tmp), db, "redis://127.0.0.1:6379/0")
        try:
            cluster.add_dag("bench_api.py", DAG.format(n=args.tasks))
            cluster.parse()
            web = cluster.start_webserver()
            url = f"http://127.0.0.1:{cluster.api_port}/execution/"
            pgid = web.pid
            for phase, combined in (("claim_finish_logs", False), ("claim_finish_with_log", True)):
                cluster.trigger("bench_api", phase)
                work = _queue_all(cluster, phase)
                before = _cpu(pgid)
                wall = _run(
                    [
                        ctx.Process(target=_tries, args=(url, work[i :: args.clients], combined))
                        for i in range(args.clients)
                    ]
                )
                cpu = _since(before, _cpu(pgid))
                calls = len(work) * (2 if combined else 3)
                _emit(phase, cpu, wall, calls, tries=len(work), clients=args.clients)
            per_client = args.heartbeats // args.clients
            before = _cpu(pgid)
            wall = _run(
                [
                    ctx.Process(target=_heartbeats, args=(url, work[i :: args.clients], per_client))
                    for i in range(args.clients)
                ]
            )
            cpu = _since(before, _cpu(pgid))
            _emit("heartbeat", cpu, wall, per_client * args.clients, clients=args.clients)
        finally:
            cluster.close()


def _emit(phase: str, cpu: tuple[float, float], wall: float, calls: int, **extra: object) -> None:
    user, system = cpu
    figures = {
        "metric": f"execution_api_{phase}_webserver_cpu_per_call",
        "value": round((user + system) / calls * 1000, 3),
        "unit": "ms",
        "calls": calls,
        "calls_per_s": round(calls / wall, 1),
        "webserver_user_s": round(user, 2),
        "webserver_sys_s": round(system, 2),
        "load": round(os.getloadavg()[0], 2),
        **extra,
    }
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
