"""The execution API over HTTP (``/execution/task-instances/{ti_id}/<method>``) on the real app:
answers, status codes and error bodies a remote worker relies on, and ``finish`` with its log."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.integration.api.conftest import NOW, Api

from tradewind.core.execution import Workload
from tradewind.core.log_files import log_path
from tradewind.metastore.tables import TaskInstance, TaskInstanceHistory
from tradewind.services.testing import make_test_run, queue_single_task
from tradewind.services.tokens import issue_ti_token

MISSING = "missing task token: send 'Authorization: Bearer <token>'"


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, api: Api) -> Api:
    """Every call on both metastores: PostgreSQL claims in one statement (a CTE)."""
    return api if request.param == "sqlite" else request.getfixturevalue("pg_api")


@pytest.fixture
def queued(api: Api) -> Workload:
    """The ``extract`` task instance of a manual ``etl`` run, queued for its first try."""
    api.env.wake = lambda *_: None  # the shared fixture's takes no wake-up kind
    run_id = make_test_run(api.env, "etl", NOW, None)
    return queue_single_task(api.env, "etl", run_id, "extract")


def call(api: Api, w: Workload, method: str, body: object, token: str | None = None):  # noqa: ANN201
    headers = {"Authorization": f"Bearer {token or w.token}"}
    url = f"/execution/task-instances/{w.ti_id}/{method}"
    return api.client.post(url, json=body, headers=headers)


def ti_state(api: Api, w: Workload) -> str | None:
    from tradewind.services.runs import task_states

    with api.env.db.session(readonly=True) as s:
        rows = task_states(s, w.dag_id, w.run_id)
    return next(t.state for t in rows if t.id == w.ti_id)


def log_file(api: Api, w: Workload) -> Path:
    folder = api.env.settings.log_folder
    return log_path(folder, w.dag_id, w.run_id, w.task_id, w.try_number, w.map_index)


def test_a_try_claims_heartbeats_and_finishes(api: Api, queued: Workload) -> None:
    claim = call(api, queued, "claim", {"hostname": "node-b", "pid": 42})
    assert claim.status_code == 200, claim.text
    assert claim.headers["content-type"] == "application/json"
    assert claim.headers["x-content-type-options"] == "nosniff"
    assert claim.headers["x-frame-options"] == "DENY"
    ti = claim.json()["ti"]
    assert (ti["dag_id"], ti["task_id"], ti["try_number"]) == ("etl", "extract", 1)
    run = claim.json()["dag_run"]
    assert (run["dag_id"], run["run_id"], run["run_type"]) == ("etl", queued.run_id, "manual")
    assert run["conf"] == {} and run["clear_number"] == 0
    again = call(api, queued, "claim", {"hostname": "node-b", "pid": 42})  # its answer lost
    assert again.status_code == 200 and again.json()["dag_run"] == run
    taken = call(api, queued, "claim", {"hostname": "node-c", "pid": 7})
    assert taken.status_code == 409
    assert call(api, queued, "heartbeat", {"pid": 42}).json() == {"stop": False}
    stored = call(api, queued, "xcom_set", {"key": "k", "value": [1, "two"]})
    assert stored.status_code == 200 and stored.json() is None
    got = call(
        api,
        queued,
        "xcom_get",
        {"dag_id": "etl", "run_id": queued.run_id, "task_id": "extract", "key": "k"},
    )
    assert got.json() == {"found": True, "value": [1, "two"]}
    done = call(api, queued, "finish", {"outcome": "success", "error": None})
    assert done.status_code == 200 and done.json().pop("callback_token")  # for the callbacks
    assert done.json() == {"state": "success", "callback_token": done.json()["callback_token"]}
    assert ti_state(api, queued) == "success"
    assert call(api, queued, "heartbeat", {"pid": 42}).json() == {"stop": True}


def test_finish_with_log_stores_the_log_of_the_try_then_the_outcome(
    api: Api, queued: Workload
) -> None:
    call(api, queued, "claim", {"hostname": "node-b", "pid": 42})
    text = "line one\nünïcode line two\n"
    done = call(api, queued, "finish", {"outcome": "failed", "error": "boom", "log": text})
    assert done.status_code == 200, done.text
    path = log_file(api, queued)
    assert {k: v for k, v in done.json().items() if k != "callback_token"} == {
        "state": "failed",
        "log": {"path": str(path), "bytes": len(text.encode())},
    }
    assert path.read_text(encoding="utf-8") == text
    assert ti_state(api, queued) == "failed"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".upload-")]


def test_finish_with_log_replaces_an_uploaded_log_like_the_logs_call(
    api: Api, queued: Workload
) -> None:
    call(api, queued, "claim", {"hostname": "node-b", "pid": 42})
    uploaded = call(api, queued, "logs", {"text": "early copy\n"})
    path = log_file(api, queued)
    assert uploaded.json() == {"path": str(path), "bytes": 11}
    call(api, queued, "finish", {"outcome": "success", "log": "final copy\n"})
    assert path.read_text() == "final copy\n"


def test_a_repeated_finish_is_refused_but_still_stores_its_log(api: Api, queued: Workload) -> None:
    # A worker whose first finish got no answer sends it again: the outcome stands, the log
    # of that try is still kept.
    call(api, queued, "claim", {"hostname": "node-b", "pid": 42})
    assert call(api, queued, "finish", {"outcome": "success"}).status_code == 200
    again = call(api, queued, "finish", {"outcome": "failed", "log": "sent again\n"})
    assert again.status_code == 409
    assert log_file(api, queued).read_text() == "sent again\n"
    assert ti_state(api, queued) == "success"


def test_finish_records_the_outcome_when_its_log_cannot_be_written(
    api: Api, queued: Workload
) -> None:
    call(api, queued, "claim", {"hostname": "node-b", "pid": 42})
    blocked = log_file(api, queued).parent
    blocked.parent.mkdir(parents=True)
    blocked.write_text("a file where the try's log folder should be")
    done = call(api, queued, "finish", {"outcome": "success", "log": "lost\n"})
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "success"
    assert done.json()["log"]["error"].startswith("log not stored:")
    assert ti_state(api, queued) == "success"


def test_finish_with_a_token_of_another_try_stores_no_log(api: Api, queued: Workload) -> None:
    call(api, queued, "claim", {"hostname": "node-b", "pid": 42})
    other = issue_ti_token(api.env.secret_key, queued.ti_id + 1, 1)
    body = {"outcome": "success", "log": "forged\n"}
    refused = call(api, queued, "finish", body, token=other)
    assert refused.status_code == 401
    assert "is not for task instance" in refused.json()["detail"]
    assert not log_file(api, queued).exists()
    assert ti_state(api, queued) == "running"


def test_a_log_over_the_size_limit_is_refused_and_records_nothing(
    api: Api, queued: Workload
) -> None:
    from tradewind.api.execution import MAX_LOG_BYTES

    call(api, queued, "claim", {"hostname": "node-b", "pid": 42})
    big = "x" * (MAX_LOG_BYTES + 1)
    assert call(api, queued, "logs", {"text": big}).status_code == 422
    refused = call(api, queued, "finish", {"outcome": "success", "log": big})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "log"]
    assert ti_state(api, queued) == "running" and not log_file(api, queued).exists()


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, MISSING),
        ({"Authorization": "Basic abc"}, MISSING),
        ({"Authorization": "Bearer not-a-jwt"}, "invalid task token"),
    ],
)
def test_a_call_without_a_valid_token_is_401(
    api: Api, queued: Workload, headers: dict[str, str], detail: str
) -> None:
    url = f"/execution/task-instances/{queued.ti_id}/claim"
    answer = api.client.post(url, json={"hostname": "h", "pid": 1}, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["detail"].startswith(detail)
    assert "www-authenticate" not in answer.headers
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert ti_state(api, queued) == "queued"


def test_expired_and_foreign_tokens_are_401(api: Api, queued: Workload) -> None:
    secret = api.env.secret_key
    expired = issue_ti_token(secret, queued.ti_id, 1, ttl=-10)
    answer = call(api, queued, "claim", {"hostname": "h", "pid": 1}, token=expired)
    assert (answer.status_code, answer.json()) == (401, {"detail": "task token expired"})
    foreign = issue_ti_token("another-key-of-at-least-32-bytes-long!", queued.ti_id, 1)
    assert call(api, queued, "heartbeat", {"pid": 1}, token=foreign).status_code == 401


def test_service_errors_map_to_404_409_and_422(api: Api, queued: Workload) -> None:
    unknown = Workload(987654, "etl", "r", "t", -1, 1, "", None, "")
    token = issue_ti_token(api.env.secret_key, 987654, 1)
    missing = call(api, unknown, "xcom_set", {"key": "k", "value": 1}, token=token)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "task instance 987654 not found"}
    assert call(api, queued, "claim", {"hostname": "h", "pid": 1}).status_code == 200
    again = call(api, queued, "claim", {"hostname": "h", "pid": 2})
    assert again.status_code == 409 and isinstance(again.json()["detail"], str)
    bad = call(api, queued, "finish", {"outcome": "great"})
    assert bad.status_code == 422 and "great" in bad.json()["detail"]


def test_a_claim_repeated_by_its_claimant_is_answered_again(api: Api, queued: Workload) -> None:
    """A worker whose claim was committed but whose answer was lost (the webserver killed in
    between) retries it: the same host and process get the answer again, nobody else does."""
    first = call(api, queued, "claim", {"hostname": "node-b", "pid": 42})
    assert first.status_code == 200, first.text
    retried = call(api, queued, "claim", {"hostname": "node-b", "pid": 42})
    assert retried.status_code == 200, retried.text
    assert retried.json()["ti"] == {
        **first.json()["ti"],
        "start_date": retried.json()["ti"]["start_date"],
    }
    for other in ({"hostname": "node-b", "pid": 43}, {"hostname": "node-c", "pid": 42}):
        assert call(api, queued, "claim", other).status_code == 409, other
    assert call(api, queued, "finish", {"outcome": "success"}).json()["state"] == "success"
    late = call(api, queued, "claim", {"hostname": "node-b", "pid": 42})
    assert late.status_code == 409  # the try is over: a repeat no longer answers


def test_an_earlier_legs_finish_or_upload_leaves_the_current_legs_log(
    api: Api, queued: Workload
) -> None:
    """A worker of an earlier leg of the try (deferred, then resumed elsewhere) that reports
    late changes neither the outcome nor the log the current leg stored."""
    seq = queued_seq(api, queued)
    call(api, queued, "claim", {"hostname": "node-b", "pid": 42})
    call(api, queued, "logs", {"text": "current leg\n"})
    stale = issue_ti_token(api.env.secret_key, queued.ti_id, 1, seq=seq - 1)
    late = call(api, queued, "finish", {"outcome": "success", "log": "stale leg\n"}, token=stale)
    assert late.status_code == 409, late.text
    assert "was queued again since" in late.json()["detail"]
    assert call(api, queued, "logs", {"text": "stale leg\n"}, token=stale).status_code == 409
    assert log_file(api, queued).read_text() == "current leg\n"
    assert ti_state(api, queued) == "running"


def test_a_finish_repeated_by_its_claimant_is_answered_again(api: Api, queued: Workload) -> None:
    """A worker whose finish was committed but whose answer was lost retries it: the same try's
    token with the same outcome gets the state again (and a callback token, so the task's
    callbacks run), once; another outcome or another try's token is still refused."""
    call(api, queued, "claim", {"hostname": "node-b", "pid": 42})
    first = call(api, queued, "finish", {"outcome": "failed", "error": "boom"})
    assert first.status_code == 200, first.text
    retried = call(api, queued, "finish", {"outcome": "failed", "error": "boom"})
    assert retried.status_code == 200, retried.text
    assert retried.json()["state"] == first.json()["state"] == "failed"
    assert retried.json()["callback_token"]
    assert call(api, queued, "finish", {"outcome": "success"}).status_code == 409
    with api.env.db.session(readonly=True) as s:
        tries = s.query(TaskInstanceHistory).filter_by(ti_id=queued.ti_id).all()
    assert [t.state for t in tries] == ["failed"]  # the repeat recorded nothing
    assert ti_state(api, queued) == "failed"
    other_leg = issue_ti_token(api.env.secret_key, queued.ti_id, 1, seq=queued_seq(api, queued) + 1)
    assert call(api, queued, "finish", {"outcome": "failed"}, token=other_leg).status_code == 409


def queued_seq(api: Api, w: Workload) -> int:
    with api.env.db.session(readonly=True) as s:
        return s.get(TaskInstance, w.ti_id).queue_seq


def test_invalid_bodies_get_fastapi_validation_errors(api: Api, queued: Workload) -> None:
    wrong = call(api, queued, "claim", {"hostname": "h"})
    assert wrong.status_code == 422
    [error] = wrong.json()["detail"]
    assert (error["type"], error["loc"]) == ("missing", ["body", "pid"])
    url = f"/execution/task-instances/{queued.ti_id}/claim"
    auth = {"Authorization": f"Bearer {queued.token}"}
    broken = api.client.post(
        url, content=b"{not json", headers={**auth, "Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    assert broken.json()["detail"][0]["type"] == "json_invalid"
    untyped = api.client.post(url, content=b'{"hostname": "h", "pid": 1}', headers=auth)
    assert untyped.status_code == 422
    empty = api.client.post(url, headers=auth)
    assert empty.status_code == 422
    assert empty.json()["detail"][0]["loc"] == ["body"]
    # Validation comes before the token check, as FastAPI does it.
    assert api.client.post(url, json={"hostname": "h"}).status_code == 422
    not_a_number = api.client.post(
        "/execution/task-instances/abc/claim", json={"hostname": "h", "pid": 1}, headers=auth
    )
    assert not_a_number.status_code == 422
    assert not_a_number.json()["detail"][0]["loc"] == ["path", "ti_id"]
    assert ti_state(api, queued) == "queued"


def test_unknown_methods_and_verbs(api: Api, queued: Workload) -> None:
    assert call(api, queued, "explode", {}).status_code == 404
    url = f"/execution/task-instances/{queued.ti_id}/claim"
    assert api.client.get(url).status_code == 405


def test_verify_checks_a_callback_token(api: Api) -> None:
    token = issue_ti_token(api.env.secret_key, -7, 0)
    url = "/execution/task-instances/-7/verify"
    ok = api.client.post(url, json={}, headers={"Authorization": f"Bearer {token}"})
    assert ok.json() == {"valid": True, "try_number": 0}
    other = api.client.post(
        "/execution/task-instances/-8/verify", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    assert other.status_code == 401


def test_the_execution_routes_are_in_the_openapi_document(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for method in ("claim", "heartbeat", "finish", "logs", "verify"):
        assert f"/execution/task-instances/{{ti_id}}/{method}" in paths
    finish = paths["/execution/task-instances/{ti_id}/finish"]["post"]
    schema = finish["requestBody"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/FinishBody")


def test_the_fast_path_answers_valid_calls_without_the_app(api: Api, queued: Workload) -> None:
    import warnings

    from tradewind.api.execution import ExecutionFastPath

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    left: list[str] = []

    async def rest_of_the_app(scope, receive, send) -> None:  # noqa: ANN001
        left.append(scope["path"])
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    fast = ExecutionFastPath(rest_of_the_app)

    async def app(scope, receive, send) -> None:  # noqa: ANN001
        scope["app"] = api.client.app
        await fast(scope, receive, send)

    client = TestClient(app)
    auth = {"Authorization": f"Bearer {queued.token}"}
    url = f"/execution/task-instances/{queued.ti_id}/"
    assert client.post(url + "claim", json={"hostname": "h", "pid": 1}, headers=auth).is_success
    moved = client.post(url + "claim", json={"hostname": "h", "pid": 2}, headers=auth)
    assert moved.status_code == 409 and "not queued" in moved.json()["detail"]
    finished = client.post(url + "finish", json={"outcome": "success"}, headers=auth).json()
    assert finished["state"] == "success"
    assert left == []
    assert client.post(url + "claim", json={"pid": "x"}, headers=auth).status_code == 418
    assert client.get("/api/v2/version").status_code == 418
    assert left == [url + "claim", "/api/v2/version"]


def test_finish_keeps_the_tries_history_and_marks_the_run_changed(
    api: Api, queued: Workload
) -> None:
    """What ``finish`` writes besides the state (one statement on PostgreSQL): the try's
    history row, with its end, and the run marked changed for the scheduler; a refused
    finish writes neither."""
    from tradewind.metastore.tables import DagRun

    def run_seq() -> int:
        with api.env.db.session(readonly=True) as s:
            run = s.query(DagRun).filter_by(dag_id="etl", run_id=queued.run_id).one()
            return run.change_seq

    assert call(api, queued, "claim", {"hostname": "node-b", "pid": 42}).status_code == 200
    before = run_seq()
    stale = issue_ti_token(api.env.secret_key, queued.ti_id, queued.try_number, 60, seq=99)
    refused = call(api, queued, "finish", {"outcome": "success", "error": None}, token=stale)
    assert refused.status_code == 409
    assert run_seq() == before
    done = call(api, queued, "finish", {"outcome": "failed", "error": "boom"})
    assert done.status_code == 200 and done.json()["state"] == "failed"
    assert run_seq() == before + 1
    with api.env.db.session(readonly=True) as s:
        tries = s.query(TaskInstanceHistory).filter_by(ti_id=queued.ti_id).all()
        ti = s.get(TaskInstance, queued.ti_id)
        assert ti is not None and ti.end_date is not None
        assert [(t.try_number, t.state, t.error, t.hostname) for t in tries] == [
            (1, "failed", "boom", "node-b")
        ]
        assert tries[0].end_date == ti.end_date and tries[0].duration == ti.duration
