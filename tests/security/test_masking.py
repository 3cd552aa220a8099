"""Issue 18.2 and 18.8: a secret is masked in the forms it takes in output (URL-encoded, in a
connection URI, base64 of ``login:password``, JSON-escaped) through the real log pipeline of
the local executor and of Celery, and rendered template fields are masked at every depth
before they are stored (metastore, API for a Viewer)."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest

PASSWORD = 'S3cr3tP4ss!/ x&y"q'
API_KEY = 'k3y-Val"ue-42'
# What a task prints: each line one encoding of the connection's password or the variable.
MASK_DAG = """
import base64, json, datetime
from tradewind import DAG
from tradewind.hooks.base import BaseHook
from tradewind.operators.bash import BashOperator
from tradewind.operators.python import PythonOperator


def leak():
    conn = BaseHook.get_connection("warehouse")
    print("uri:", conn.get_uri())
    print("json:", json.dumps({"password": conn.password}))
    print("basic:", base64.b64encode(f"{conn.login}:{conn.password}".encode()).decode())
    print("raw:", conn.password)


with DAG("mask_dag", schedule=None, start_date=datetime.datetime(2026, 1, 1,
         tzinfo=datetime.timezone.utc)__QUEUE__):
    PythonOperator(task_id="leak", python_callable=leak) >> BashOperator(
        task_id="nested",
        bash_command="echo nested-done",
        env={"K": "{{ var.value.api_key }}", "L": "x-{{ var.value.api_key }}-y"},
    )
"""


def _secrets_of(text: str) -> list[str]:
    from urllib.parse import quote

    forms = {
        "raw": PASSWORD,
        "url": quote(PASSWORD, safe=""),
        "json": json.dumps(PASSWORD)[1:-1],
        "basic": base64.b64encode(f"dbuser:{PASSWORD}".encode()).decode(),
        "var": API_KEY,
        "var-json": json.dumps(API_KEY)[1:-1],
    }
    return [name for name, form in forms.items() if form in text]


def _store_secrets(env: Any) -> None:
    from tradewind.services.connections import add_connection
    from tradewind.services.variables import set_variable

    with env.db.session() as s:
        add_connection(
            env,
            s,
            {
                "conn_id": "warehouse",
                "conn_type": "postgres",
                "host": "db.example",
                "port": 5432,
                "schema": "prod",
                "login": "dbuser",
                "password": PASSWORD,
            },
        )
        set_variable(env, s, "api_key", API_KEY)


def _check_run(env: Any, client: Any, viewer_headers: dict[str, str], run_id: str) -> None:
    """The log files, the log API and the stored rendered fields show no form of a secret."""
    from tradewind.core.log_files import log_path

    for task in ("leak", "nested"):
        path = log_path(env.settings.log_folder, "mask_dag", run_id, task, 1)
        text = path.read_text()
        assert _secrets_of(text) == [], (task, text)
        resp = client.get(
            f"/api/v2/dags/mask_dag/dagRuns/{run_id}/taskInstances/{task}/logs/1",
            headers={**viewer_headers, "Accept": "text/plain"},
        )
        assert resp.status_code == 200 and _secrets_of(resp.text) == [], resp.text
    assert (
        "uri: ***" in log_path(env.settings.log_folder, "mask_dag", run_id, "leak", 1).read_text()
    )
    resp = client.get(
        f"/api/v2/dags/mask_dag/dagRuns/{run_id}/taskInstances/nested", headers=viewer_headers
    )
    rendered = resp.json()["rendered_fields"]
    assert rendered["env"] == {"K": "***", "L": "x-***-y"}, rendered


def test_encodings_are_masked_by_the_log_pipeline(tmp_path: Path) -> None:
    """The task log handler itself (what every executor uses)."""
    from tradewind.core import masking
    from tradewind.hooks.base import mask_connection
    from tradewind.services.task_logs import read_log_lines
    from tradewind.worker.logs import task_log

    mask_connection({"conn_id": "c", "conn_type": "http", "login": "bob", "password": "pa:ss@w0rd"})
    path = tmp_path / "attempt=1.log"
    with task_log(path):
        print("url", "pa%3Ass%40w0rd", "basic", base64.b64encode(b"bob:pa:ss@w0rd").decode())
        print(json.dumps({"p": 'a"pa:ss@w0rd'}))
    events = " ".join(str(line["event"]) for line in read_log_lines(path))
    assert "w0rd" not in events and events.count("***") == 3, events
    assert masking.redact_value({"a": [{"b": "x pa:ss@w0rd"}], "token": "t0k"}) == {
        "a": [{"b": "x ***"}],
        "token": "***",
    }


@pytest.mark.slow
def test_local_executor_masks_every_form(tmp_path: Path) -> None:
    from tests.integration.scheduler.conftest import Home
    from tests.security.conftest import site_client

    home = Home(tmp_path / "home", f"sqlite:///{tmp_path / 'home' / 'tradewind.db'}", {})
    try:
        _store_secrets(home.env)
        home.write_dag("mask_dag.py", MASK_DAG.replace("__QUEUE__", ""))
        from tradewind.dag_processing.processor import DagProcessor
        from tradewind.services.runs import trigger_run

        DagProcessor(home.settings, home.env.db).run_once(force=True)
        with home.env.db.session() as s:
            trigger_run(s, "mask_dag", now=home.env.now(), run_id="m1")
        home.start_scheduler()
        home.wait_for(
            lambda: _run_state(home.env, "m1") in ("success", "failed"), 120, "the run to end"
        )
        assert _run_state(home.env, "m1") == "success", home.scheduler_log()[-3000:]
        with site_client(home.env) as (client, headers):
            _check_run(home.env, client, headers("viewer"), "m1")
    finally:
        home.stop_all()
        home.env.db.engine.dispose()


def _run_state(env: Any, run_id: str) -> str | None:
    from tradewind.services.runs import get_run

    with env.db.session(readonly=True) as s:
        return str(get_run(s, "mask_dag", run_id).state)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_celery_worker_masks_every_form(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "multinode"))
    from mn_cluster import Cluster, postgres_database
    from tests.conftest import require_server
    from tests.security.conftest import site_client

    for port, name in ((5432, "PostgreSQL"), (6379, "Redis")):
        require_server("127.0.0.1", port, name)
    import secrets

    queue = f"sec_{secrets.token_hex(4)}"
    with postgres_database() as url:
        cluster = Cluster(
            tmp_path / "c", url, "redis://127.0.0.1:6379/0", key_prefix=f"tw_sec_{queue}:"
        )
        try:
            _store_secrets(cluster.env)
            cluster.add_dag(
                "mask_dag.py",
                MASK_DAG.replace("__QUEUE__", f", default_args={{'queue': '{queue}'}}"),
            )
            cluster.parse()
            cluster.start_webserver()
            cluster.start_worker("w1", queues=queue, concurrency=1)
            cluster.start_scheduler()
            cluster.trigger("mask_dag", "c1")
            assert cluster.wait_runs(["c1"], timeout=120) == {"c1": "success"}, cluster.tails()
            with site_client(cluster.env) as (client, headers):
                _check_run(cluster.env, client, headers("viewer"), "c1")
        finally:
            cluster.close()
