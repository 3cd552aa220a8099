"""Issue 18.9: a task token is valid only while its try is the task instance's current running
one: before the claim, after ``finish`` and after a retry started, a replayed token reads and
writes nothing; ``nbf`` and ``exp`` are both checked. Callbacks read with the callback token
``finish`` hands back, which cannot write and ends when a new try starts."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import jwt
import pytest

from tradewind.core.execution import Workload

VAR = {"key": "api_key"}


@pytest.fixture
def queued(site: Any) -> Workload:
    from tradewind.services.testing import make_test_run, queue_single_task
    from tradewind.services.variables import set_variable

    with site.env.db.session() as s:
        set_variable(site.env, s, "api_key", "v4lue")
    run_id = make_test_run(site.env, "sec_dag", datetime(2026, 2, 1, tzinfo=timezone.utc), None)
    return queue_single_task(site.env, "sec_dag", run_id, "echo")


def call(site: Any, w: Workload, method: str, body: Any, token: str | None = None) -> Any:
    return site.client.post(
        f"/execution/task-instances/{w.ti_id}/{method}",
        json=body,
        headers={"Authorization": f"Bearer {token or w.token}"},
    )


def test_a_token_works_only_while_its_try_runs(site: Any, queued: Workload) -> None:
    before = call(site, queued, "get_variable", VAR)
    assert before.status_code == 401 and "no longer valid" in before.text  # not claimed yet
    assert call(site, queued, "claim", {"hostname": "h", "pid": 1}).status_code == 200
    assert call(site, queued, "get_variable", VAR).json() == {"found": True, "value": "v4lue"}
    assert call(site, queued, "xcom_set", {"key": "k", "value": 1}).status_code in (200, 204)
    done = call(site, queued, "finish", {"outcome": "success", "error": None})
    assert done.status_code == 200
    # The task succeeded: its token, replayed, reads and writes nothing any more.
    for method, body in [
        ("get_variable", VAR),
        ("get_connection", {"conn_id": "x"}),
        ("xcom_set", {"key": "k", "value": 2}),
        ("skip_tasks", {"task_ids": ["echo"]}),
        (
            "xcom_get",
            {"dag_id": "sec_dag", "run_id": queued.run_id, "task_id": "echo", "key": "k"},
        ),
    ]:
        resp = call(site, queued, method, body)
        assert resp.status_code == 401, (method, resp.text)
    assert call(site, queued, "finish", {"outcome": "failed", "error": None}).status_code >= 400


def test_the_callback_token_only_reads_and_ends_with_the_try(site: Any, queued: Workload) -> None:
    from tradewind.services.task_instances import clear_task_instances

    call(site, queued, "claim", {"hostname": "h", "pid": 1})
    done = call(site, queued, "finish", {"outcome": "success", "error": None}).json()
    callback = done["callback_token"]
    assert call(site, queued, "get_variable", VAR, callback).json()["value"] == "v4lue"
    wrote = call(site, queued, "xcom_set", {"key": "k", "value": 3}, callback)
    assert wrote.status_code == 401 and "may only read" in wrote.text
    with site.env.db.session() as s:  # cleared: the next try gets its own tokens
        clear_task_instances(s, "sec_dag", run_id=queued.run_id, now=site.env.now(), user="t")
    from tradewind.services.testing import queue_single_task

    queue_single_task(site.env, "sec_dag", queued.run_id, "echo")
    assert call(site, queued, "get_variable", VAR, callback).status_code == 401


def _forged(site: Any, w: Workload, **times: int) -> str:
    now = int(time.time())
    seq = jwt.decode(w.token, options={"verify_signature": False})["seq"]  # the real leg
    claims = {
        "sub": str(w.ti_id),
        "try": w.try_number,
        "seq": seq,
        "aud": "tradewind:execution",
        "iat": now,
    }
    return jwt.encode({**claims, **times}, site.env.secret_key, algorithm="HS256")


def test_nbf_and_exp_are_both_checked(site: Any, queued: Workload) -> None:
    call(site, queued, "claim", {"hostname": "h", "pid": 1})
    now = int(time.time())
    early = _forged(site, queued, nbf=now + 600, exp=now + 3600)
    late = _forged(site, queued, exp=now - 10)
    forever = _forged(site, queued)  # no exp at all
    for token in (early, late, forever):
        resp = call(site, queued, "get_variable", VAR, token)
        assert resp.status_code == 401, resp.text
    assert call(site, queued, "get_variable", VAR, _forged(site, queued, exp=now + 60)).is_success


def test_callbacks_still_read_after_the_outcome(tmp_path: Any, home: Any) -> None:
    """A task's on_success_callback pulls XComs after finish (with the callback token)."""
    from tests.security.conftest import make_env

    from tradewind import DAG
    from tradewind.dag_test import run_dag_in_process
    from tradewind.operators.python import PythonOperator

    seen: list[Any] = []
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with DAG("cb_dag", schedule=None, start_date=start) as dag:
        PythonOperator(
            task_id="t",
            python_callable=lambda: 41,
            on_success_callback=lambda ctx: seen.append(ctx["ti"].xcom_pull(task_ids="t")),
        )
    env = make_env(home)
    try:
        run_dag_in_process(dag, start, env=env, echo=False)
    finally:
        env.db.engine.dispose()
    assert seen == [41]
