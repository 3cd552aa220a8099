"""#17: per-task cost against the number of tasks, for the local and the Celery executor.

One DAG of N independent no-op tasks (the W1 fan-out file, ``BENCH_FANOUT_N=N``), triggered
and timed to the run's end; per-task cost = (run end - trigger) / N.
- local: ``tradewind scheduler`` (SQLite, LocalExecutor, parallelism 4), as bench_scheduler.
- celery: PostgreSQL + Redis, a real webserver, one scheduler and two ``celery worker -c 8``
  (parallelism 64), as bench_celery.
Each size runs ``--runs`` times (3; once for sizes of 10,000 and more) in one fresh home per
executor and size. Prints JSON lines ``scale_<executor>_<n>_per_task`` (ms) with the wall
time, and the load average at the end of each size.

Usage: bench_scale.py [--sizes 10,100,1000] [--executors local,celery] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from measure import WORKLOADS, emit, make_home, parse_dags, skip, start_scheduler, stop_scheduler

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration" / "multinode"))

BIG = 10_000


def _runs_for(n: int, runs: int) -> int:
    return 1 if n >= BIG else runs


def local(n: int, runs: int) -> list[float]:
    """Seconds trigger -> success of ``runs`` runs of an n-task fan-out on the LocalExecutor."""
    from bench_scheduler import PARALLELISM, run_once

    tmp = Path(tempfile.mkdtemp(prefix="twscale-"))
    proc = None
    try:
        env_vars = make_home(tmp, core__parallelism=PARALLELISM)
        env_vars["BENCH_FANOUT_N"] = str(n)
        shutil.copy(WORKLOADS / "fanout.py", tmp / "dags" / "fanout.py")
        parse_dags(env_vars)
        proc = start_scheduler(env_vars, tmp)
        from tradewind.services.env import Env
        from tradewind.settings import load_settings

        env = Env.from_settings(load_settings(tmp, environ=env_vars))
        totals = [run_once(env, "bench_fanout", timeout=60 + n * 0.5)[0] for _ in range(runs)]
        env.db.engine.dispose()
        return totals
    finally:
        if proc is not None:
            stop_scheduler(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def celery(n: int, runs: int) -> list[float]:
    """The same over Celery: PostgreSQL, Redis, webserver, 1 scheduler, 2 workers."""
    from mn_cluster import Cluster, postgres_database

    fanout = (WORKLOADS / "fanout.py").read_text()
    totals: list[float] = []
    with tempfile.TemporaryDirectory(prefix="twscale-celery-") as tmp, postgres_database() as url:
        root = Path(tmp)
        cluster = Cluster(
            root,
            url,
            "redis://127.0.0.1:6379/0",
            key_prefix=f"bench_scale_{root.name}_{os.getpid()}:",
            extra_env={"BENCH_FANOUT_N": str(n), "TRADEWIND__CORE__PARALLELISM": "64"},
        )
        try:
            os.environ["BENCH_FANOUT_N"] = str(n)  # the parse below runs in this process
            cluster.add_dag("fanout.py", fanout)
            cluster.parse()
            cluster.start_webserver()
            for w in range(2):
                cluster.start_worker(f"w{w}", concurrency=8)
            cluster.start_scheduler("s0")
            for i in range(runs):
                run_id = f"scale_{i}"
                started = cluster.env.now()
                cluster.trigger("bench_fanout", run_id)
                states = cluster.wait_runs([run_id], timeout=120 + n * 0.5)
                if states[run_id] != "success":
                    raise SystemExit(f"{run_id} ended {states[run_id]}\n{cluster.tails()}")
                with cluster.env.db.session(readonly=True) as s:
                    from tradewind.services.runs import get_run

                    end = get_run(s, "bench_fanout", run_id).end_date
                totals.append((end - started).total_seconds())
        finally:
            cluster.close()
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--executors", default="local,celery")
    parser.add_argument("--runs", type=int, default=3)
    opts = parser.parse_args()
    # Stopped (timeout, a wrapper's SIGTERM): still stop the scheduler or cluster it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from mn_cluster import reachable

    for executor in opts.executors.split(","):
        for n in (int(x) for x in opts.sizes.split(",")):
            metric = f"scale_{executor}_{n}_per_task"
            if executor == "celery" and not (reachable(5432) and reachable(6379)):
                skip(metric, "needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379")
                continue
            measure = local if executor == "local" else celery
            start = time.monotonic()
            totals = measure(n, _runs_for(n, opts.runs))
            emit(
                metric,
                [t / n * 1000 for t in totals],
                "ms",
                executor=executor,
                tasks=n,
                trigger_to_success_s=[round(t, 3) for t in totals],
                took_s=round(time.monotonic() - start, 1),
                load=[round(x, 2) for x in os.getloadavg()],
            )


if __name__ == "__main__":
    main()
