"""Dynamic task mapping: 1,000 mapped instances vs the same 1,000 tasks written statically,
then a reduce, trigger -> success on a running ``tradewind scheduler`` (SQLite, local
executor); and the scheduler time to expand 10,000 elements, with the grid query of that run.

Prints JSON lines (``measure.emit``): per-instance cost of each form and their ratio (the
issue's bar: mapped <= 1.2x static), ``expand_10000_scheduler_pass`` (the pass that expands)
and ``grid_query_10000`` (the grid's query of that run).

``grid`` times the whole grid page (an HTTP GET through the app, logged in: queries, template
render, response) of a DAG whose mapped task has ``BENCH_MAP_N`` instances in each of 25 runs,
with and without the mapped cell's panel open, and the page's live-refresh JSON
(``grid_page_*``, target 300 ms; the load average is in each line).

Usage: bench_mapping.py [fanout|expand|grid ...]   (default: all);  BENCH_MAP_N=1000
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from bench_scheduler import run_once
from measure import emit, make_home, parse_dags, start_scheduler, stop_scheduler

N = int(os.environ.get("BENCH_MAP_N", "1000"))
RUNS = 3
PARALLELISM = 4
HEADER = """
import datetime
from tradewind import DAG, task

@task
def add_one(x):
    return x + 1

@task
def total(values):
    return sum(values)
"""
MAPPED = (
    HEADER
    + f"""
with DAG("bench_mapped", schedule=None,
         start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)):
    total(add_one.expand(x=list(range({N}))))
"""
)
STATIC = (
    HEADER
    + f"""
with DAG("bench_static", schedule=None,
         start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)):
    total([add_one(x=i) for i in range({N})])
"""
)


def fanout() -> None:
    """Both forms on one scheduler, runs alternating; per-instance cost of each."""
    tmp = Path(tempfile.mkdtemp(prefix="twbench-map-"))
    proc = None
    try:
        env_vars = make_home(
            tmp,
            core__parallelism=PARALLELISM,
            core__max_map_length=max(N, 1024),
            core__dags_are_paused_at_creation="false",
        )
        (tmp / "dags" / "mapped.py").write_text(textwrap.dedent(MAPPED))
        (tmp / "dags" / "static.py").write_text(textwrap.dedent(STATIC))
        parse_dags(env_vars)
        proc = start_scheduler(env_vars, tmp)
        from tradewind.services.env import Env
        from tradewind.settings import load_settings

        env = Env.from_settings(load_settings(tmp, environ=env_vars))
        times: dict[str, list[float]] = {"bench_mapped": [], "bench_static": []}
        for _ in range(RUNS):
            for dag_id, out in times.items():
                total, _first, _gaps = run_once(env, dag_id, timeout=120 + N * 0.5)
                out.append(total)
        extra = {"parallelism": PARALLELISM, "tasks": N, "executor": "LocalExecutor"}
        mapped = [t / N * 1000 for t in times["bench_mapped"]]
        static = [t / N * 1000 for t in times["bench_static"]]
        emit(f"mapped_{N}_per_instance", mapped, "ms", **extra)
        emit(f"static_{N}_per_task", static, "ms", **extra)
        emit(
            f"mapped_vs_static_{N}",
            [m / s for m, s in zip(mapped, static, strict=True)],
            "ratio",
            target=1.2,
            **extra,
        )
        env.db.engine.dispose()
    except BaseException:
        print(f"kept {tmp} for inspection", file=sys.stderr)
        raise
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if proc is not None:
            stop_scheduler(proc)


def expand(elements: int = 10_000) -> None:
    """The scheduler pass that expands ``elements`` instances, and the grid query after it."""
    tmp = Path(tempfile.mkdtemp(prefix="twbench-expand-"))
    try:
        from tradewind import DAG, task
        from tradewind.sdk import defaults
        from tradewind.services import runs, scheduling, ui_queries
        from tradewind.services.env import Env
        from tradewind.services.testing import store_dag_object
        from tradewind.settings import load_settings

        env_vars = make_home(tmp, core__max_map_length=elements)
        env = Env.from_settings(load_settings(tmp, environ=env_vars), wake=lambda *_: None)
        defaults.configure(env.settings)
        import datetime

        with DAG("bench_expand", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:

            @task
            def one(x: int) -> int:
                return x

            one.expand(x=list(range(elements)))
        dag.fileloc = str(tmp / "dags" / "bench_expand.py")
        store_dag_object(env, dag)
        passes, grids = [], []
        for _ in range(RUNS):
            with env.db.session() as s:
                run = runs.trigger_run(s, "bench_expand", now=env.now())
                s.flush()
                from sqlalchemy import update

                from tradewind.metastore.tables import DagRun

                s.execute(update(DagRun).where(DagRun.id == run.id).values(state="running"))
            cache = scheduling.DagCache(elements)
            t0 = time.perf_counter()
            with env.db.session() as s:
                result = scheduling.evaluate_dirty_runs(s, cache, env.now())
            passes.append(time.perf_counter() - t0)
            if result.tis_changed < elements:
                raise SystemExit(f"expanded {result.tis_changed} of {elements}")
            t0 = time.perf_counter()
            with env.db.session(readonly=True) as s:
                ui_queries.grid(s, "bench_expand", limit=25)
            grids.append((time.perf_counter() - t0) * 1000)
        emit(f"expand_{elements}_scheduler_pass", passes, "s", target=2.0, db="sqlite")
        emit(f"grid_query_{elements}", grids, "ms", target=300, db="sqlite", runs_shown=RUNS)
        env.db.engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    from bench_mapping_grid import grid

    names = sys.argv[1:] or ["fanout", "expand", "grid"]
    for name in names:
        {"fanout": fanout, "expand": expand, "grid": grid}[name]()


if __name__ == "__main__":
    main()
