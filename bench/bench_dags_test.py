"""``dags test`` of a DAG of 100 independent no-op ``@task``s (target: under 2 s in total).

Two figures, median of 3, each in a fresh TRADEWIND_HOME with a migrated SQLite DB:
- ``run_dag_in_process`` alone (the DAG object already built, as ``dag.test()``);
- ``tradewind dags test bench_dags_test -q`` wall time (interpreter start, CLI, DAG file
  parse, the run, the output), i.e. what a user waits for.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import emit, make_home

RUNS = 3
N = 100
DAG_FILE = f"""\
import datetime
from tradewind import dag, task


@dag(dag_id="bench_dags_test", schedule=None,
     start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc), catchup=False)
def bench_dags_test():
    for i in range({N}):
        @task(task_id=f"t{{i:03d}}")
        def noop():
            return None
        noop()


dag_obj = bench_dags_test()
"""

IN_PROCESS = """
import sys, time, importlib.util
from tradewind.dag_test import run_dag_in_process
from tradewind.services.env import Env
spec = importlib.util.spec_from_file_location("bench_dag", sys.argv[1])
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
env = Env.from_settings()
start = time.perf_counter()
result = run_dag_in_process(mod.dag_obj, env=env, echo=False)
elapsed = time.perf_counter() - start
assert result.state == "success" and len(result.tasks) == N, (result.state, len(result.tasks))
print(elapsed)
"""


def fresh_home() -> tuple[Path, dict[str, str]]:
    """A new home with the DAG file in its DAGs folder."""
    tmp = Path(tempfile.mkdtemp(prefix="twdagtest-"))
    env = make_home(tmp)
    (tmp / "dags" / "bench_dags_test.py").write_text(DAG_FILE)
    return tmp, env


def in_process() -> float:
    """Seconds of one ``run_dag_in_process`` (in a subprocess, on a fresh home)."""
    tmp, env = fresh_home()
    try:
        code = IN_PROCESS.replace("== N", f"== {N}")
        done = subprocess.run(
            [sys.executable, "-c", code, str(tmp / "dags" / "bench_dags_test.py")],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise SystemExit(f"in-process dags test failed:\n{done.stderr}")
        return float(done.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cli_wall() -> float:
    """Wall seconds of one ``tradewind dags test`` on a fresh home."""
    tmp, env = fresh_home()
    try:
        cmd = [sys.executable, "-c", "from tradewind.cli.main import main; main()"]
        start = time.perf_counter()
        done = subprocess.run(
            [*cmd, "dags", "test", "bench_dags_test", "-q"], env=env, capture_output=True, text=True
        )
        elapsed = time.perf_counter() - start
        if done.returncode:
            raise SystemExit(f"tradewind dags test failed:\n{done.stdout}\n{done.stderr}")
        return elapsed
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    extra = {"tasks": N, "target_s": 2.0, "cpus": os.cpu_count()}
    emit("dags_test_100_in_process", [in_process() for _ in range(RUNS)], "s", **extra)
    emit("dags_test_100_cli_wall", [cli_wall() for _ in range(RUNS)], "s", **extra)


if __name__ == "__main__":
    main()
