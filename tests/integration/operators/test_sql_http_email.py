"""SQL, HTTP, transfer and e-mail operators in real DAG runs against real servers."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone

import pytest

from tradewind import DAG
from tradewind.hooks.sql import SqlHook
from tradewind.operators.email import EmailOperator
from tradewind.operators.generic_transfer import GenericTransfer
from tradewind.operators.http import HttpOperator, SimpleHttpOperator
from tradewind.operators.python import PythonOperator
from tradewind.operators.sql import SQLExecuteQueryOperator
from tradewind.sensors.http import HttpSensor
from tradewind.sensors.sql import SqlSensor
from tradewind.transfers.file_to_sql import FileToSqlOperator
from tradewind.transfers.filesystem import FileTransferOperator
from tradewind.transfers.http_to_file import HttpToFileOperator
from tradewind.transfers.sql_to_file import SqlToFileOperator

from .conftest import add_connection, run_dag, task_log

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _xcom(env, dag_id, run_id, task_id, key="return_value"):
    from tradewind.services.xcom import get_xcom

    with env.db.session(readonly=True) as s:
        return get_xcom(s, dag_id=dag_id, run_id=run_id, task_id=task_id, key=key, map_index=-1)[1]


def _sql_dag(dag_id, tmp_path):
    (tmp_path / "count.sql").write_text(
        "SELECT COUNT(*) AS n, '{{ ds }}' AS day FROM people WHERE age >= {{ params.min_age }}"
    )
    with DAG(
        dag_id,
        schedule=None,
        start_date=START,
        template_searchpath=str(tmp_path),
        params={"min_age": 30},
    ) as dag:
        create = SQLExecuteQueryOperator(
            task_id="create",
            conn_id="db",
            split_statements=True,
            sql="DROP TABLE IF EXISTS people; CREATE TABLE people (name VARCHAR(50), age INTEGER); "
            "INSERT INTO people VALUES ('ann', 31); INSERT INTO people VALUES ('bob', 25)",
        )
        insert = SQLExecuteQueryOperator(
            task_id="insert",
            conn_id="db",
            sql="INSERT INTO people VALUES (:name, :age)",
            parameters={"name": "cy; d", "age": 40},
        )
        wait = SqlSensor(
            task_id="wait",
            conn_id="db",
            sql="SELECT COUNT(*) FROM people",
            success=lambda n: n >= 3,
            poke_interval=0.05,
            timeout=10,
        )
        count = SQLExecuteQueryOperator(task_id="count", conn_id="db", sql="count.sql")
        create >> insert >> wait >> count
    return dag


@pytest.mark.parametrize(
    "backend",
    [
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
)
def test_sql_operator_and_sensor_on_each_database(env, tmp_path, backend, request):
    url = {"sqlite": f"sqlite:///{tmp_path}/data.db"}.get(backend) or request.getfixturevalue(
        "pg_url" if backend == "postgres" else "mysql_url"
    )
    add_connection(env, "db", url)
    dag = _sql_dag(f"sql_{backend}", tmp_path)
    result = run_dag(env, dag, logical_date=START)
    assert set(result.states.values()) == {"success"}, result.states
    assert _xcom(env, dag.dag_id, result.run_id, "count") == [[2, "2026-01-01"]]


def test_sql_results_are_capped_for_xcom(env, tmp_path):
    add_connection(env, "db", f"sqlite:///{tmp_path}/big.db")
    with DAG("sql_cap", schedule=None, start_date=START) as dag:
        SQLExecuteQueryOperator(
            task_id="big",
            conn_id="db",
            max_xcom_bytes=2000,
            sql="WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) SELECT i, 'row ' || i FROM n",
        )
    result = run_dag(env, dag)
    rows = _xcom(env, "sql_cap", result.run_id, "big")
    assert result.states["big"] == "success" and 0 < len(rows) < 5000 and rows[0] == [1, "row 1"]


@pytest.mark.postgres
def test_generic_transfer_and_files_postgres_to_sqlite(env, tmp_path, pg_url):
    add_connection(env, "pg", pg_url)
    add_connection(env, "lite", f"sqlite:///{tmp_path}/dest.db")
    pg = SqlHook(
        connection=__import__("tradewind.hooks.base", fromlist=["x"]).Connection.from_uri(
            "pg", pg_url
        )
    )
    pg.run(
        [
            "CREATE TABLE src (id INTEGER, name TEXT, amount NUMERIC(10,2))",
            "INSERT INTO src SELECT i, 'n' || i, i / 4.0 FROM generate_series(1, 2500) AS i",
        ]
    )
    pg.dispose()
    out = tmp_path / "out"
    with DAG("transfer", schedule=None, start_date=START) as dag:
        GenericTransfer(
            task_id="move",
            sql="SELECT id, name FROM src ORDER BY id",
            source_conn_id="pg",
            destination_conn_id="lite",
            destination_table="dst",
            preoperator="CREATE TABLE IF NOT EXISTS dst (id INTEGER, name TEXT)",
            page_size=1000,
        )
        to_csv = SqlToFileOperator(
            task_id="to_csv",
            conn_id="pg",
            sql="SELECT * FROM src ORDER BY id",
            path=str(out / "src.csv"),
            batch_size=700,
        )
        to_json = SqlToFileOperator(
            task_id="to_json",
            conn_id="pg",
            sql="SELECT * FROM src WHERE id <= 3 ORDER BY id",
            path=str(out / "src.jsonl"),
            file_format="json",
        )
        load = FileToSqlOperator(
            task_id="load",
            path=str(out / "src.csv"),
            conn_id="lite",
            table="loaded",
            batch_size=600,
            preoperator="CREATE TABLE loaded (id INTEGER, name TEXT, amount REAL)",
        )
        copy = FileTransferOperator(
            task_id="copy", src=str(out / "*.jsonl"), dst=str(tmp_path / "copies") + "/"
        )
        to_csv >> load
        to_json >> copy
    result = run_dag(env, dag)
    assert set(result.states.values()) == {"success"}, result.states
    lite = SqlHook(
        connection=__import__("tradewind.hooks.base", fromlist=["x"]).Connection.from_uri(
            "lite", f"sqlite:///{tmp_path}/dest.db"
        )
    )
    assert lite.get_first("SELECT COUNT(*), MAX(id) FROM dst") == (2500, 2500)
    assert lite.get_first("SELECT COUNT(*), SUM(amount) FROM loaded") == (
        2500,
        sum(i / 4 for i in range(1, 2501)),
    )
    with open(out / "src.csv") as f:
        assert next(csv.reader(f)) == ["id", "name", "amount"]
    lines = (tmp_path / "copies" / "src.jsonl").read_text().splitlines()
    assert [json.loads(x) for x in lines][0] == {"id": 1, "name": "n1", "amount": 0.25}
    assert _xcom(env, "transfer", result.run_id, "move") == 2500


def test_http_operator_sensor_and_download(env, tmp_path, http_server):
    port = http_server.server_address[1]
    add_connection(env, "api", f"http://user:web-secret-77@127.0.0.1:{port}")
    with DAG("http", schedule=None, start_date=START) as dag:
        ready = HttpSensor(
            task_id="ready", http_conn_id="api", endpoint="ready", poke_interval=0.05, timeout=10
        )
        post = HttpOperator(
            task_id="post",
            http_conn_id="api",
            endpoint="items/{{ ds }}",
            data={"a": 1},
            log_response=True,
            response_check=lambda r: r.json()["method"] == "POST",
            response_filter=lambda r: r.json()["path"],
        )
        get = SimpleHttpOperator(
            task_id="get", http_conn_id="api", method="GET", endpoint="q", data={"x": "1"}
        )
        bad = HttpOperator(task_id="bad", http_conn_id="api", endpoint="fail", retries=0)
        download = HttpToFileOperator(
            task_id="download",
            http_conn_id="api",
            endpoint="big",
            path=str(tmp_path / "big.bin"),
            chunk_size=65536,
        )
        ready >> [post, get, bad, download]
    result = run_dag(env, dag, logical_date=START)
    assert result.states == {
        "ready": "success",
        "post": "success",
        "get": "success",
        "bad": "failed",
        "download": "success",
    }
    assert _xcom(env, "http", result.run_id, "post") == "/items/2026-01-01"
    assert json.loads(_xcom(env, "http", result.run_id, "get"))["path"] == "/q?x=1"
    assert (tmp_path / "big.bin").stat().st_size == 5 * 1024 * 1024
    assert all(auth and auth.startswith("Basic ") for _, _, auth in http_server.requests)


def test_email_operator_and_failure_email(env, smtp_server, monkeypatch):
    monkeypatch.setenv("TRADEWIND__SMTP__SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TRADEWIND__SMTP__SMTP_PORT", str(smtp_server.port))

    def boom():
        raise ValueError("the input file is empty")

    with DAG("mail", schedule=None, start_date=START) as dag:
        EmailOperator(
            task_id="send",
            to="ops@example.com, data@example.com",
            subject="Report {{ ds }}",
            html_content="<b>done</b>",
        )
        PythonOperator(
            task_id="breaks",
            python_callable=boom,
            email=["oncall@example.com"],
            email_on_failure=True,
        )
    result = run_dag(env, dag, logical_date=START)
    assert result.states == {"send": "success", "breaks": "failed"}
    by_rcpt = {tuple(m.rcpt_tos): m.content.decode() for m in smtp_server.messages}
    assert "Subject: Report 2026-01-01" in by_rcpt[("ops@example.com", "data@example.com")]
    alert = by_rcpt[("oncall@example.com",)]
    assert "breaks" in alert and "the input file is empty" in alert


def test_secrets_never_reach_task_logs(env, tmp_path):
    secret = "pa55-Word-9912"
    add_connection(env, "warehouse", f"postgresql://etl:{secret}@127.0.0.1:5432/test")

    def leak():
        from tradewind.hooks.base import BaseHook

        conn = BaseHook.get_connection("warehouse")
        print(f"connecting with {conn.get_uri()} and {conn.password}")
        import logging

        logging.getLogger("tradewind.task").info("password=%s", conn.password)
        raise RuntimeError(f"could not log in as etl:{conn.password}")

    with DAG("leaky", schedule=None, start_date=START) as dag:
        PythonOperator(task_id="leak", python_callable=leak)
    result = run_dag(env, dag)
    assert result.states == {"leak": "failed"}
    text = task_log(env, "leaky", result.run_id, "leak")
    assert "***" in text and "could not log in" in text
    assert secret not in text
    for path in env.settings.log_folder.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), path
