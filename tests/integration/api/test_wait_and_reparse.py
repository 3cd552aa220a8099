"""The DAG run wait stream (official client and NDJSON) and ``PUT /parseDagFile``."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from tests.integration.api.conftest import Api

client = pytest.importorskip("airflow_client.client")
from airflow_client.client.api import DAGApi, DAGParsingApi, DagRunApi  # noqa: E402


def _run(api: Api, run_id: str = "r") -> None:
    answer = api.post(
        "/api/v2/dags/report/dagRuns", json={"logical_date": None, "dag_run_id": run_id}
    )
    assert answer.status_code == 200, answer.text


def _finish_later(api: Api, run_id: str, state: str, after: float) -> threading.Thread:
    def finish() -> None:
        time.sleep(after)
        api.patch(f"/api/v2/dags/report/dagRuns/{run_id}", json={"state": state})

    thread = threading.Thread(target=finish)
    thread.start()
    return thread


def test_client_waits_until_the_run_finishes(api: Api, airflow_client: object) -> None:
    _run(api)
    with api.env.db.session() as session:
        from tradewind.services.xcom import set_xcom

        set_xcom(session, dag_id="report", run_id="r", task_id="only", key="return_value",
                 value={"rows": 3}, map_index=-1, now=api.env.now())  # fmt: skip
    finisher = _finish_later(api, "r", "success", 0.5)
    answer = DagRunApi(airflow_client).wait_dag_run_until_finished(
        "report", "r", interval=0.1, result=["only"]
    )
    finisher.join()
    assert answer == {"state": "success", "results": {"only": {"rows": 3}}}


def test_ndjson_stream_has_a_line_per_check(api: Api, served: str) -> None:
    _run(api)
    finisher = _finish_later(api, "r", "failed", 0.6)
    lines = []
    with httpx.stream(
        "GET",
        f"{served}/api/v2/dags/report/dagRuns/r/wait",
        params={"interval": 0.1},
        headers={**api.headers(), "Accept": "application/x-ndjson"},
        timeout=30,
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in answer.iter_lines() if line]
    finisher.join()
    assert lines[0] == {"state": "queued"} and len(lines) >= 3
    assert lines[-1] == {"state": "failed"}


def test_wait_for_an_unknown_run_is_404_and_interval_is_required(api: Api) -> None:
    assert (
        api.get("/api/v2/dags/report/dagRuns/nope/wait", params={"interval": 1}).status_code == 404
    )
    assert api.get("/api/v2/dags/report/dagRuns/nope/wait").status_code == 422
    _run(api)
    assert api.get("/api/v2/dags/report/dagRuns/r/wait", params={"interval": 0}).status_code == 422


def test_reparse_marks_the_file_changed(api: Api, airflow_client: object) -> None:
    from tradewind.metastore.tables import DagFile

    token = DAGApi(airflow_client).get_dag("etl").file_token
    fileloc = DAGApi(airflow_client).get_dag("etl").fileloc
    with api.env.db.session() as session:
        row = session.get(DagFile, fileloc)
        if row is None:
            session.add(DagFile(fileloc=fileloc, mtime=123.0, content_hash="abc", dag_ids=["etl"]))
    assert DAGParsingApi(airflow_client).reparse_dag_file(token) is None  # 201, null body
    with api.env.db.session(readonly=True) as session:
        row = session.get(DagFile, fileloc)
        assert row.mtime == 0.0 and row.content_hash == ""
    assert api.put("/api/v2/parseDagFile/not-a-token").status_code == 404
    assert api.put(f"/api/v2/parseDagFile/{token}", user="viewer").status_code == 403
    from tradewind.api.v2.convert import file_token

    other = file_token(api.env.secret_key, "/nowhere.py")
    assert api.put(f"/api/v2/parseDagFile/{other}").status_code == 404
