"""UI pages and API lists with a big metastore: 1,000 DAGs, 200,000 runs, 1,000,000 task
instances (issue 14's scale), on SQLite or PostgreSQL.

Bulk-inserts (SQLAlchemy Core executemany, in chunks) ``dag_0000`` with 100 tasks and 25 runs
and 999 DAGs of 5 tasks and 200 runs each (every fifth DAG's latest run failed), then times the
DAGs page and the grid of ``dag_0000`` (logged in) and every REST list endpoint's first page
(bearer token, offset and cursor paging) through the ASGI app (TestClient), and prints JSON
lines ``{"metric": ..., "value": ..., "unit": "s", "target": ..., "db": ...}`` (median of
``BENCH_UI_REPEAT`` requests). Targets (issue 14): API list first pages and the grid data
under 0.05 s; (issue 4) pages under 0.2 s.

    python bench/bench_ui.py [--db sqlite|postgres]     # BENCH_UI_DAGS=100 for a quick look

To iterate on one query: ``BENCH_UI_HOME=/tmp/ui`` keeps the home (and, with ``--db
postgres``, the database ``BENCH_UI_PG_DB``, default ``tw_bench_ui_kept``) and loads the data
only when it is not there yet; ``BENCH_UI_ONLY=api_tis`` times only the metrics matching
that regular expression.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
SMALL_TASKS, SMALL_RUNS = 5, 200
REPEAT = int(os.environ.get("BENCH_UI_REPEAT", "20"))
ONLY = re.compile(os.environ.get("BENCH_UI_ONLY", ""))
KEPT_HOME = os.environ.get("BENCH_UI_HOME")
KEPT_PG_DB = os.environ.get("BENCH_UI_PG_DB", "tw_bench_ui_kept")
START = datetime(2025, 1, 1, tzinfo=UTC)
CHUNK = 20_000
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _shape(tasks: int) -> dict:
    """A serialized DAG of ``tasks`` tasks in a chain of groups of 10."""
    with DAG("shape", schedule="@daily", start_date=START, tags=["bench"]) as dag:
        ops = [EmptyOperator(task_id=f"task_{i:03d}") for i in range(tasks)]
        for i in range(10, tasks):
            ops[i - 10] >> ops[i]
    return serialize_dag(dag)


def _rows() -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, row) for every DAG, version, run and task instance, DAG by DAG."""
    shapes = {BIG_TASKS: _shape(BIG_TASKS), SMALL_TASKS: _shape(SMALL_TASKS)}
    for d in range(DAGS):
        dag_id = f"dag_{d:04d}"
        tasks, runs = (BIG_TASKS, BIG_RUNS) if d == 0 else (SMALL_TASKS, SMALL_RUNS)
        data = dict(shapes[tasks], dag_id=dag_id)
        vh = version_hash(data)
        yield "dag", {
            "dag_id": dag_id, "is_paused": False, "is_active": True,
            "fileloc": f"/dags/{dag_id}.py", "relative_fileloc": f"{dag_id}.py",
            "owners": "airflow", "tags": ["bench"], "latest_version": vh,
            "last_parsed_time": START,
        }  # fmt: skip
        yield "serialized_dag", {
            "dag_id": dag_id, "version_hash": vh, "version_number": 1, "data": data,
            "fileloc": f"/dags/{dag_id}.py", "created_at": START,
        }  # fmt: skip
        for r in range(runs):
            when = START + timedelta(days=r)
            run_id = f"scheduled__{when.isoformat()}"
            failed = r == runs - 1 and d % 5 == 0
            yield "dag_run", {
                "dag_id": dag_id, "run_id": run_id, "run_type": "scheduled",
                "state": "failed" if failed else "success", "logical_date": when,
                "run_after": when, "start_date": when, "end_date": when + timedelta(minutes=5),
                "dag_version": vh, "conf": {},
            }  # fmt: skip
            for t in range(tasks):
                yield "task_instance", {
                    "dag_id": dag_id, "run_id": run_id, "task_id": f"task_{t:03d}",
                    "map_index": -1,
                    "state": "failed" if failed and t == tasks - 1 else "success",
                    "try_number": 1, "max_tries": 0, "start_date": when,
                    "end_date": when + timedelta(seconds=t + 1), "duration": float(t + 1),
                    "dag_version": vh,
                }  # fmt: skip


def load(env: Env) -> int:
    """Insert the DAGs, runs and task instances; return how many TIs."""
    from tradewind.metastore.tables import Base

    tables = Base.metadata.tables
    pending: dict[str, list[dict[str, Any]]] = {}
    count = 0
    with env.db.engine.begin() as conn:
        for table, row in _rows():
            batch = pending.setdefault(table, [])
            batch.append(row)
            count += table == "task_instance"
            if len(batch) >= CHUNK:
                # Parents first: a chunk of task instances waits for its runs' chunk.
                for name in ("dag", "serialized_dag", "dag_run", "task_instance"):
                    if pending.get(name):
                        conn.execute(tables[name].insert(), pending.pop(name))
        for name in ("dag", "serialized_dag", "dag_run", "task_instance"):
            if pending.get(name):
                conn.execute(tables[name].insert(), pending.pop(name))
    from sqlalchemy import text

    # PostgreSQL: VACUUM too, as autovacuum soon does after a bulk insert (it sets the
    # visibility map that index-only scans, and so every COUNT, rely on).
    if env.db.engine.dialect.name == "postgresql":
        with env.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        # The metastore's own sampled ANALYZE, in a transaction that commits (an
        # "AUTOCOMMIT" one was rolled back: the SQLite engine opens its own BEGIN).
        env.db.refresh_statistics()
    return count


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
    ("ui_dags_page", "/dags", 0.2),
    ("ui_dags_page_search", "/dags?q=dag_09&page=2", 0.2),
    ("ui_grid_100_tasks_25_runs", "/dags/dag_0000/grid", 0.05),
    ("ui_graph_100_tasks", "/dags/dag_0000/graph", 0.2),
    ("ui_browse_failed_tis", "/browse/task_instances?state=failed", 0.2),
    ("ui_browse_runs", "/browse/runs", 0.2),
]
TIS = "/api/v2/dags/~/dagRuns/~/taskInstances"
RUNS = "/api/v2/dags/~/dagRuns"
API_LISTS = [
    ("api_dags_limit_50", "/api/v2/dags?limit=50"),
    ("api_dags_paused_tag_limit_50", "/api/v2/dags?limit=50&paused=false&tags=bench"),
    ("api_dag_runs_limit_25", "/api/v2/dags/dag_0001/dagRuns?limit=25"),
    ("api_dag_runs_all_dags_limit_25", f"{RUNS}?limit=25"),
    ("api_dag_runs_all_dags_cursor_limit_25", f"{RUNS}?limit=25&cursor="),
    ("api_dag_runs_failed_newest_first", f"{RUNS}?limit=25&state=failed&order_by=-logical_date"),
    ("api_tis_all_limit_100", f"{TIS}?limit=100"),
    ("api_tis_all_cursor_limit_100", f"{TIS}?limit=100&cursor="),
    ("api_tis_all_by_start_date_limit_100", f"{TIS}?limit=100&order_by=-start_date"),
    ("api_tis_all_by_logical_date_limit_100", f"{TIS}?limit=100&order_by=-logical_date"),
    ("api_tis_all_by_end_date_limit_100", f"{TIS}?limit=100&order_by=-end_date"),
    ("api_tis_all_by_duration_limit_100", f"{TIS}?limit=100&order_by=duration"),
    ("api_tis_failed_limit_100", f"{TIS}?limit=100&state=failed"),
    ("api_tis_of_one_run_limit_100", "/api/v2/dags/dag_0000/dagRuns/~/taskInstances?limit=100"),
    ("api_dag_stats", "/api/v2/dagStats?dag_ids=dag_0001&dag_ids=dag_0002"),
    ("api_dag_stats_all", "/api/v2/dagStats"),
    ("api_dag_warnings", "/api/v2/dagWarnings"),
    ("api_dag_tags", "/api/v2/dagTags"),
    ("api_dag_versions", "/api/v2/dags/dag_0001/dagVersions"),
    ("api_event_logs", "/api/v2/eventLogs?limit=50"),
    ("api_import_errors", "/api/v2/importErrors"),
    ("api_variables", "/api/v2/variables"),
    ("api_connections", "/api/v2/connections"),
    ("api_pools", "/api/v2/pools"),
    ("api_assets", "/api/v2/assets"),
    ("api_asset_events", "/api/v2/assets/events"),
    ("api_jobs", "/api/v2/jobs"),
    ("api_xcom_all", "/api/v2/dags/~/dagRuns/~/taskInstances/~/xcomEntries?limit=50"),
    ("api_backfills", "/api/v2/backfills?dag_id=dag_0001"),
    ("api_providers", "/api/v2/providers"),
]
API_TARGET = 0.05


def _time(client: TestClient, path: str, headers: dict[str, str] | None = None) -> float:
    samples = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        resp = client.get(path, headers=headers)
        samples.append(time.perf_counter() - t0)
        if resp.status_code != 200:
            raise SystemExit(f"{path}: HTTP {resp.status_code}: {resp.text[:300]}")
    return statistics.median(samples)


def _report(metric: str, seconds: float, target: float, db: str, **extra: Any) -> None:
    line = {"metric": metric, "value": round(seconds, 4), "unit": "s", "target": target,
            "db": db, "repeat": REPEAT, **extra}  # fmt: skip
    print(json.dumps(line))
    sys.stdout.flush()


def _postgres_url() -> Iterator[str]:
    import psycopg

    name = KEPT_PG_DB if KEPT_HOME else f"tw_bench_ui_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        if not KEPT_HOME:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _loaded(env: Env) -> bool:
    """Whether a kept metastore already holds the data set."""
    from sqlalchemy import text

    with env.db.engine.connect() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM dag")).scalar() == DAGS)


def _measure(home: Path, db: str, environ: dict[str, str]) -> None:
    settings = load_settings(home, environ=environ)
    write_config_file(settings)
    env = Env.from_settings(load_settings(home, environ=environ), wake=lambda *_: None)
    env.db.migrate()
    if not _loaded(env):
        with env.db.session() as s:
            create_user(s, "admin", "a@example.com", "A", "B", "pw", ["Admin"], START)
        t0 = time.perf_counter()
        tis = load(env)
        _report("ui_bulk_load", time.perf_counter() - t0, 0, db, task_instances=tis, dags=DAGS)
    client = TestClient(_app(env), base_url="http://127.0.0.1")
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"username": "admin", "password": "pw", "csrf_token": token})
    for metric, path, target in UI_PAGES:
        if ONLY.search(metric):
            _report(metric, _time(client, path), target, db)
    api = TestClient(_app(env), base_url="http://127.0.0.1")  # no cookie: the token only
    token = issue_api_token(env.secret_key, "admin", ["Admin"], datetime.now(UTC), 3600)
    for metric, path in API_LISTS:
        if ONLY.search(metric):
            _report(metric, _time(api, path, {"Authorization": f"Bearer {token}"}), API_TARGET, db)
    env.db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(KEPT_HOME) if KEPT_HOME else Path(tmp)
        home.mkdir(parents=True, exist_ok=True)
        if args.db == "sqlite":
            _measure(home, "sqlite", {})
            return
        for url in _postgres_url():
            _measure(home, "postgres", {"TRADEWIND__DATABASE__SQL_ALCHEMY_CONN": url})


if __name__ == "__main__":
    main()
