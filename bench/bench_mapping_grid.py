"""The whole grid page of a DAG with a big mapped task: ``BENCH_MAP_N`` instances x 25 runs.

Bulk-inserts 25 finished runs of ``start >> work (mapped, N instances) >> total`` (every
instance's state from a fixed mix: mostly success, some failed, upstream_failed, skipped), logs
in through the login form, and times GET requests through the ASGI app (FastAPI TestClient,
HTTP in process: routing, auth, the queries, the Jinja2 render, the response body):

- ``grid_page_mapped_N_x_25``: ``/dags/ID/grid`` (the 25 newest runs);
- ``grid_page_mapped_N_x_25_panel``: the same page with the mapped cell of the newest run open
  (its instance list in the panel below the grid);
- ``grid_states_json_mapped_N_x_25``: the page's live-refresh JSON for the 25 runs.

Medians of ``BENCH_UI_REPEAT`` requests (20), interleaved A, B, C, A, B, C...; each line has the
1-minute load average before and after. Target 300 ms (issue 11).
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from measure import emit, make_home

N = int(os.environ.get("BENCH_MAP_N", "1000"))
RUNS = 25
REPEAT = int(os.environ.get("BENCH_UI_REPEAT", "20"))
START = datetime(2025, 1, 1, tzinfo=UTC)
MIX = ["success"] * 17 + ["failed", "upstream_failed", "skipped"]


def _dag() -> Any:
    from tradewind import DAG, task
    from tradewind.operators.empty import EmptyOperator

    with DAG("bench_grid_mapped", schedule=None, start_date=START) as dag:

        @task(map_index_template="item {{ task.op_kwargs['x'] }}")
        def work(x: int) -> int:
            return x

        @task
        def total(values: Any) -> int:
            return sum(values)

        EmptyOperator(task_id="start") >> total(work.expand(x=list(range(N))))
    return dag


def _load(env: Any) -> list[str]:
    """Store the DAG and 25 finished runs with all their task instances; return the run ids."""
    from sqlalchemy import delete, insert, update

    from tradewind.metastore.tables import DagRun, TaskInstance
    from tradewind.services import runs as run_service
    from tradewind.services.dag_store import get_serialized_dag
    from tradewind.services.mapping import _row
    from tradewind.services.testing import store_dag_object

    dag = _dag()
    dag.fileloc = "/dags/bench_grid_mapped.py"
    store_dag_object(env, dag)
    run_ids = []
    with env.db.session() as s:
        sdag = get_serialized_dag(s, dag.dag_id)
        for r in range(RUNS):
            when = START + timedelta(days=r)
            run = run_service.trigger_run(s, dag.dag_id, now=when, logical_date=when)
            s.flush()
            s.execute(
                update(DagRun)
                .where(DagRun.id == run.id)
                .values(state="failed", start_date=when, end_date=when + timedelta(minutes=9))
            )
            s.execute(
                delete(TaskInstance).where(
                    TaskInstance.run_id == run.run_id, TaskInstance.task_id == "work"
                )
            )
            rows = [
                _row(run, sdag.tasks["work"], i, when)
                | {"state": MIX[(i + r) % len(MIX)], "rendered_map_index": f"item {i}"}
                for i in range(N)
            ]
            s.execute(insert(TaskInstance.__table__), rows)
            s.execute(
                update(TaskInstance)
                .where(TaskInstance.run_id == run.run_id, TaskInstance.task_id != "work")
                .values(state="success")
            )
            run_ids.append(run.run_id)
    return run_ids


def _client(env: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from tradewind.api.app import create_app
    from tradewind.services.users import create_user

    with env.db.session() as s:
        create_user(s, "admin", "a@example.com", "A", "B", "pw", ["Admin"], START)
    client = TestClient(create_app(env), base_url="http://127.0.0.1")
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"username": "admin", "password": "pw", "csrf_token": token})
    return client


def grid() -> None:
    """Time the grid page, the page with the mapped cell open, and the live-refresh JSON."""
    from tradewind.services.env import Env
    from tradewind.settings import load_settings

    with tempfile.TemporaryDirectory(prefix="twbench-grid-") as tmp:
        environ = make_home(Path(tmp), core__max_map_length=max(N, 1024))
        env = Env.from_settings(load_settings(Path(tmp), environ=environ), wake=lambda *_: None)
        run_ids = _load(env)
        client = _client(env)
        base = "/dags/bench_grid_mapped"
        paths = {
            f"grid_page_mapped_{N}_x_{RUNS}": f"{base}/grid",
            f"grid_page_mapped_{N}_x_{RUNS}_panel": f"{base}/grid?"
            + urlencode({"run_id": run_ids[-1], "task_id": "work"}),
            f"grid_states_json_mapped_{N}_x_{RUNS}": f"{base}/states.json?"
            + urlencode([("run_id", r) for r in run_ids]),
        }
        samples: dict[str, list[float]] = {m: [] for m in paths}
        sizes: dict[str, int] = {}
        for path in paths.values():  # warm: templates compiled, DAG cached
            _check(client.get(path), path)
        load_before = os.getloadavg()[0]
        for _ in range(REPEAT):
            for metric, path in paths.items():
                t0 = time.perf_counter()
                resp = client.get(path)
                samples[metric].append((time.perf_counter() - t0) * 1000)
                _check(resp, path)
                sizes[metric] = len(resp.content)
        load_after = os.getloadavg()[0]
        for metric, values in samples.items():
            emit(
                metric,
                values,
                "ms",
                digits=1,
                target=300,
                db="sqlite",
                instances_per_run=N,
                runs_shown=RUNS,
                bytes=sizes[metric],
                load_avg_1m=[round(load_before, 2), round(load_after, 2)],
            )
        env.db.engine.dispose()


def _check(resp: Any, path: str) -> None:
    if resp.status_code != 200:
        raise SystemExit(f"{path}: HTTP {resp.status_code}: {resp.text[:300]}")
    if "grid" in path and "states.json" not in path and "work" not in resp.text:
        raise SystemExit(f"{path}: the page does not show the mapped task")
