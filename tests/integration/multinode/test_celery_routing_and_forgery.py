"""Queue routing, and messages that must run nothing (forged, expired, unknown task instance)."""

from __future__ import annotations

import time

import pytest
from mn_dags import _HEADER, read_marks

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROUTED = """
with DAG("routed", start_date=datetime(2024, 1, 1), schedule=None, catchup=False) as dag:
    a = PythonOperator(task_id="on_alpha", python_callable=mark, queue={qa!r})
    b = PythonOperator(task_id="on_beta", python_callable=mark, queue={qb!r})
    a >> b
"""


def test_queue_routes_a_task_to_the_workers_of_that_queue(make_cluster, tmp_path):
    cluster = make_cluster("redis")
    qa, qb = f"alpha_{tmp_path.name[-6:]}", f"beta_{tmp_path.name[-6:]}"
    out = str(tmp_path / "marks.txt")
    cluster.add_dag("routed.py", _HEADER.format(out=out) + ROUTED.format(qa=qa, qb=qb))
    cluster.parse()
    cluster.start_webserver()
    alpha = cluster.start_worker("alpha", queues=qa, concurrency=1)
    beta = cluster.start_worker("beta", queues=qb, concurrency=1)
    cluster.start_scheduler()
    cluster.trigger("routed", "r1")
    assert cluster.wait_runs(["r1"], timeout=60) == {"r1": "success"}
    assert "routed.on_alpha of r1" in alpha.text() and "routed.on_beta" not in alpha.text()
    assert "routed.on_beta of r1" in beta.text() and "routed.on_alpha" not in beta.text()


def test_forged_messages_run_nothing_and_are_logged(make_cluster, tmp_path):
    from tradewind.core.execution import Workload
    from tradewind.services.tokens import issue_ti_token
    from tradewind.worker.celery_app import TASK_NAME, make_celery_app

    cluster = make_cluster("redis")
    out = str(tmp_path / "marks.txt")
    dag_file = cluster.add_dag(
        "one.py",
        _HEADER.format(out=out)
        + """
with DAG("one", start_date=datetime(2024, 1, 1), schedule=None, catchup=False) as dag:
    PythonOperator(task_id="only", python_callable=mark)
""",
    )
    cluster.parse()
    cluster.trigger("one", "r1")  # no scheduler: the task instance stays unqueued
    ti = cluster.ti_rows("one", "r1")[0]
    cluster.start_webserver()
    worker = cluster.start_worker("w", queues="default", concurrency=1)
    secret = cluster.env.secret_key

    def workload(ti_id: int, token: str) -> str:
        return Workload(ti_id, "one", "r1", "only", -1, 1, str(dag_file), None, token).to_json()

    forged = {
        "a token signed with another key": workload(
            ti.id, issue_ti_token("another-key-of-at-least-32-bytes-long!", ti.id, 1)
        ),
        "an expired token": workload(ti.id, issue_ti_token(secret, ti.id, 1, ttl=-10)),
        "a token of another task instance": workload(
            ti.id, issue_ti_token(secret, ti.id + 1000, 1)
        ),
        "an unknown task instance": workload(987654, issue_ti_token(secret, 987654, 1)),
        "a valid token of a task instance that is not queued": workload(
            ti.id, issue_ti_token(secret, ti.id, 1)
        ),
        "a DAG callback without a valid token": Workload(
            -5, "one", "r1", "", -1, 0, str(dag_file), None, "x", kind="callback"
        ).to_json(),
        "not JSON at all": "{not json",
    }
    app = make_celery_app(cluster.settings)
    for message in forged.values():
        app.send_task(TASK_NAME, args=[message], queue="default")
    app.close()
    deadline = time.monotonic() + 30
    while worker.text().count("refused") + worker.text().count("not running") < len(forged):
        assert time.monotonic() < deadline, worker.text()[-4000:]
        time.sleep(0.1)
    text = worker.text()
    assert "task token expired" in text
    assert "not found" in text
    assert "is not for task instance" in text
    assert read_marks(out) == []
    assert [t.state for t in cluster.ti_rows("one", "r1")] == [ti.state]
