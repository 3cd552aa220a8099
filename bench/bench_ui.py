"""UI pages and API lists with a big metastore: 1,000 DAGs and ~1,000,000 task instances.

Bulk-inserts (executemany) 1,000 DAGs into SQLite: ``dag_0000`` with 100 tasks and 25 runs,
the others with 10 tasks and 100 runs each (every fifth DAG's latest run failed), then times
the DAGs page and the grid of ``dag_0000`` (logged in) and the REST API's list endpoints
(bearer token) through the ASGI app (TestClient), and prints JSON lines
``{"metric": ..., "value": ..., "unit": "s"}`` (median of ``BENCH_UI_REPEAT`` requests).
Targets (issue 4): pages under 0.2 s, API lists under 0.1 s.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI

from tradewind import DAG
from tradewind.operators.empty import EmptyOperator
from tradewind.sdk.serialization import serialize_dag, version_hash
from tradewind.services.auth_tokens import issue_api_token
from tradewind.services.env import Env
from tradewind.services.install import write_config_file
from tradewind.services.users import create_user
from tradewind.settings import load_settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

DAGS = int(os.environ.get("BENCH_UI_DAGS", "1000"))
BIG_TASKS, BIG_RUNS = 100, 25
SMALL_TASKS, SMALL_RUNS = 10, 100
REPEAT = int(os.environ.get("BENCH_UI_REPEAT", "20"))
START = datetime(2025, 1, 1, tzinfo=UTC)


def _shape(tasks: int) -> dict:
    """A serialized DAG of ``tasks`` tasks in a chain of groups of 10."""
    with DAG("shape", schedule="@daily", start_date=START, tags=["bench"]) as dag:
        ops = [EmptyOperator(task_id=f"task_{i:03d}") for i in range(tasks)]
        for i in range(10, tasks):
            ops[i - 10] >> ops[i]
    return serialize_dag(dag)


def _ts(value: datetime) -> str:
    return value.replace(tzinfo=None).isoformat(sep=" ")


def load(db_path: str) -> int:
    """Insert the DAGs, runs and task instances; return how many TIs."""
    shapes = {BIG_TASKS: _shape(BIG_TASKS), SMALL_TASKS: _shape(SMALL_TASKS)}
    now = _ts(START)
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    dag_rows, ser_rows, run_rows, ti_rows = [], [], [], []
    for d in range(DAGS):
        dag_id = f"dag_{d:04d}"
        tasks, runs = (BIG_TASKS, BIG_RUNS) if d == 0 else (SMALL_TASKS, SMALL_RUNS)
        data = dict(shapes[tasks], dag_id=dag_id)
        vh = version_hash(data)
        dag_rows.append(
            (
                dag_id,
                False,
                True,
                f"/dags/{dag_id}.py",
                f"{dag_id}.py",
                "airflow",
                '["bench"]',
                vh,
                now,
            )
        )
        ser_rows.append((dag_id, vh, 1, json.dumps(data), f"/dags/{dag_id}.py", now))
        for r in range(runs):
            when = START + timedelta(days=r)
            run_id = f"scheduled__{when.isoformat()}"
            failed = r == runs - 1 and d % 5 == 0
            state = "failed" if failed else "success"
            run_rows.append((dag_id, run_id, "scheduled", state, _ts(when), _ts(when), vh))
            for t in range(tasks):
                ti_state = "failed" if failed and t == tasks - 1 else "success"
                ti_rows.append(
                    (
                        dag_id,
                        run_id,
                        f"task_{t:03d}",
                        -1,
                        ti_state,
                        1,
                        0,
                        _ts(when),
                        _ts(when + timedelta(seconds=t + 1)),
                        float(t + 1),
                        vh,
                    )
                )
    conn.executemany(
        "INSERT INTO dag (dag_id, is_paused, is_active, fileloc, relative_fileloc, owners, tags, latest_version,"
        " last_parsed_time, max_active_runs, max_active_tasks, max_consecutive_failed_dag_runs, has_import_errors,"
        " has_task_concurrency_limits) VALUES (?,?,?,?,?,?,?,?,?,16,16,0,0,0)",
        dag_rows,
    )
    conn.executemany(
        "INSERT INTO serialized_dag (dag_id, version_hash, version_number, data, fileloc, created_at) VALUES (?,?,?,?,?,?)",
        ser_rows,
    )
    conn.executemany(
        "INSERT INTO dag_run (dag_id, run_id, run_type, state, logical_date, run_after, dag_version, conf,"
        " clear_number, change_seq, seen_seq) VALUES (?,?,?,?,?,?,?,'{}',0,1,1)",
        run_rows,
    )
    conn.executemany(
        "INSERT INTO task_instance (dag_id, run_id, task_id, map_index, state, try_number, max_tries, start_date,"
        " end_date, duration, dag_version, pool, pool_slots, queue, priority_weight, hostname, unixname)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,'default_pool',1,'default',1,'','')",
        ti_rows,
    )
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return len(ti_rows)


def _app(env: Env) -> FastAPI:
    try:
        from tradewind.api.app import create_app

        return create_app(env)
    except ImportError:
        from tradewind.ui.routes import router

        app = FastAPI()
        app.state.env = env
        app.include_router(router)
        return app


UI_PAGES = [
    ("ui_dags_page", "/dags"),
    ("ui_dags_page_search", "/dags?q=dag_09&page=2"),
    ("ui_grid_100_tasks_25_runs", "/dags/dag_0000/grid"),
    ("ui_graph_100_tasks", "/dags/dag_0000/graph"),
    ("ui_browse_failed_tis", "/browse/task_instances?state=failed"),
    ("ui_browse_runs", "/browse/runs"),
]
TIS = "/api/v2/dags/~/dagRuns/~/taskInstances"
API_LISTS = [
    ("api_dags_limit_50", "/api/v2/dags?limit=50"),
    ("api_dag_runs_limit_25", "/api/v2/dags/dag_0001/dagRuns?limit=25"),
    ("api_dag_runs_all_dags_limit_25", "/api/v2/dags/~/dagRuns?limit=25"),
    ("api_tis_all_limit_100", f"{TIS}?limit=100"),
    ("api_tis_failed_limit_100", f"{TIS}?limit=100&state=failed"),
    ("api_tis_of_one_run_limit_100", "/api/v2/dags/dag_0000/dagRuns/~/taskInstances?limit=100"),
]


def _time(client: TestClient, path: str, headers: dict[str, str] | None = None) -> float:
    samples = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        resp = client.get(path, headers=headers)
        samples.append(time.perf_counter() - t0)
        if resp.status_code != 200:
            raise SystemExit(f"{path}: HTTP {resp.status_code}: {resp.text[:300]}")
    return statistics.median(samples)


def _report(metric: str, seconds: float) -> None:
    print(json.dumps({"metric": metric, "value": round(seconds, 4), "unit": "s"}))
    sys.stdout.flush()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(Path(tmp), environ={})
        write_config_file(settings)
        settings = load_settings(Path(tmp), environ={})
        env = Env.from_settings(settings, wake=lambda: None)
        env.db.migrate()
        with env.db.session() as s:
            create_user(s, "admin", "a@example.com", "A", "B", "pw", ["Admin"], START)
        t0 = time.perf_counter()
        tis = load(str(Path(tmp) / "tradewind.db"))
        print(
            json.dumps(
                {
                    "metric": "ui_bulk_load",
                    "value": round(time.perf_counter() - t0, 3),
                    "unit": "s",
                    "task_instances": tis,
                }
            )
        )
        client = TestClient(_app(env), base_url="http://127.0.0.1")
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"username": "admin", "password": "pw", "csrf_token": token})
        for metric, path in UI_PAGES:
            _report(metric, _time(client, path))
        api = TestClient(_app(env), base_url="http://127.0.0.1")  # no cookie: the token only
        token = issue_api_token(env.secret_key, "admin", ["Admin"], datetime.now(UTC), 3600)
        for metric, path in API_LISTS:
            _report(metric, _time(api, path, {"Authorization": f"Bearer {token}"}))
        env.db.engine.dispose()


if __name__ == "__main__":
    main()
