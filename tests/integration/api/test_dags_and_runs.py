"""DAGs, tasks, DAG runs and task instances through the real app."""

from __future__ import annotations

from tests.integration.api.conftest import Api


def test_list_dags_filters_and_counts(api: Api) -> None:
    everything = api.get("/api/v2/dags").json()
    assert [d["dag_id"] for d in everything["dags"]] == ["etl", "report"]
    assert everything["total_entries"] == 2
    page = api.get("/api/v2/dags", params={"limit": 1, "offset": 1}).json()
    assert [d["dag_id"] for d in page["dags"]] == ["report"] and page["total_entries"] == 2
    by_tag = api.get("/api/v2/dags", params={"tags": ["daily"]}).json()
    assert [d["dag_id"] for d in by_tag["dags"]] == ["etl"]
    by_pattern = api.get("/api/v2/dags", params={"dag_id_pattern": "REP"}).json()
    assert [d["dag_id"] for d in by_pattern["dags"]] == ["report"]
    newest_first = api.get("/api/v2/dags", params={"order_by": "-dag_id"}).json()
    assert [d["dag_id"] for d in newest_first["dags"]] == ["report", "etl"]
    tag = everything["dags"][0]["tags"][0]
    assert set(tag) == {"name", "dag_id", "dag_display_name"}


def test_unknown_order_by_is_400(api: Api) -> None:
    answer = api.get("/api/v2/dags", params={"order_by": "nope"})
    assert answer.status_code == 400
    assert "Ordering with 'nope' is disallowed" in answer.json()["detail"]


def test_unknown_dag_is_404_with_a_message(api: Api) -> None:
    for path in ("/api/v2/dags/nope", "/api/v2/dags/nope/details", "/api/v2/dags/nope/tasks"):
        answer = api.get(path)
        assert answer.status_code == 404, path
        assert "nope" in answer.json()["detail"]


def test_pause_and_unpause(api: Api) -> None:
    answer = api.patch("/api/v2/dags/etl", json={"is_paused": False})
    assert answer.status_code == 200 and answer.json()["is_paused"] is False
    assert api.get("/api/v2/dags", params={"paused": "false"}).json()["total_entries"] == 1
    bad_mask = api.patch(
        "/api/v2/dags/etl", params={"update_mask": "owners"}, json={"is_paused": True}
    )
    assert bad_mask.status_code == 400
    no_pattern = api.patch("/api/v2/dags", json={"is_paused": False}).json()
    assert no_pattern["total_entries"] == 0
    bulk = api.patch("/api/v2/dags", params={"dag_id_pattern": "~"}, json={"is_paused": True})
    assert bulk.json()["total_entries"] == 2
    assert all(d["is_paused"] for d in bulk.json()["dags"])
    assert api.patch("/api/v2/dags/etl", "viewer", json={"is_paused": False}).status_code == 403


def test_details_and_tasks(api: Api) -> None:
    details = api.get("/api/v2/dags/etl/details").json()
    assert details["catchup"] is False and details["concurrency"] == 16
    assert details["latest_dag_version"]["version_number"] == 1
    tasks = api.get("/api/v2/dags/etl/tasks").json()
    assert [t["task_id"] for t in tasks["tasks"]] == ["extract", "load", "transform"]
    transform = api.get("/api/v2/dags/etl/tasks/transform").json()
    assert transform["retries"] == 2 and transform["downstream_task_ids"] == ["load"]
    assert api.get("/api/v2/dags/etl/tasks/nope").status_code == 404


def test_html_in_user_text_comes_back_as_json_data(api: Api) -> None:
    answer = api.get("/api/v2/dags/report/details")
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.json()["description"] == "<script>alert(1)</script>"


def test_trigger_with_null_logical_date_then_list_get_patch(api: Api) -> None:
    answer = api.post(
        "/api/v2/dags/report/dagRuns",
        json={"logical_date": None, "conf": {"n": 2}, "note": "<b>hi</b>"},
    )
    assert answer.status_code == 200, answer.text
    run = answer.json()
    assert run["logical_date"] is None and run["state"] == "queued" and run["conf"] == {"n": 2}
    assert run["triggered_by"] == "rest_api" and run["triggering_user_name"] == "admin"
    run_id = run["dag_run_id"]
    listed = api.get("/api/v2/dags/~/dagRuns").json()
    assert listed["total_entries"] == 1 and listed["dag_runs"][0]["dag_run_id"] == run_id
    assert api.get(f"/api/v2/dags/report/dagRuns/{run_id}").json()["note"] == "<b>hi</b>"
    patched = api.patch(f"/api/v2/dags/report/dagRuns/{run_id}", json={"state": "success"})
    assert patched.status_code == 200 and patched.json()["state"] == "success"
    tis = api.get(f"/api/v2/dags/report/dagRuns/{run_id}/taskInstances").json()
    assert [t["state"] for t in tis["task_instances"]] == ["success"]
    note = api.patch(
        f"/api/v2/dags/report/dagRuns/{run_id}",
        params={"update_mask": "note"},
        json={"note": "done"},
    )
    assert note.json()["note"] == "done" and note.json()["state"] == "success"


def test_trigger_errors(api: Api) -> None:
    missing_key = api.post("/api/v2/dags/report/dagRuns", json={"conf": {}})
    assert missing_key.status_code == 422
    assert missing_key.json()["detail"][0]["loc"][-1] == "logical_date"
    extra = api.post("/api/v2/dags/report/dagRuns", json={"logical_date": None, "bogus": 1})
    assert extra.status_code == 422
    bad_conf = api.post(
        "/api/v2/dags/report/dagRuns", json={"logical_date": None, "conf": {"n": -1}}
    )
    assert bad_conf.status_code == 400
    assert api.post("/api/v2/dags/nope/dagRuns", json={"logical_date": None}).status_code == 404
    body = {"logical_date": None, "dag_run_id": "r1"}
    assert api.post("/api/v2/dags/report/dagRuns", json=body).status_code == 200
    dup = api.post("/api/v2/dags/report/dagRuns", json=body)
    assert dup.status_code == 409 and "r1" in dup.json()["detail"]
    bad_state = api.patch("/api/v2/dags/report/dagRuns/r1", json={"state": "running"})
    assert bad_state.status_code == 422
    assert api.get("/api/v2/dags/report/dagRuns/nope").status_code == 404


def test_mark_task_failed_then_clear_it(api: Api) -> None:
    api.post(
        "/api/v2/dags/etl/dagRuns", json={"logical_date": "2026-02-01T00:00:00Z", "dag_run_id": "r"}
    )
    base = "/api/v2/dags/etl/dagRuns/r/taskInstances"
    dry = api.patch(
        f"{base}/transform/dry_run", json={"new_state": "failed", "include_downstream": True}
    )
    assert sorted(t["task_id"] for t in dry.json()["task_instances"]) == ["load", "transform"]
    assert api.get(f"{base}/transform").json()["state"] is None
    marked = api.patch(f"{base}/transform", json={"new_state": "failed"})
    assert marked.status_code == 200
    assert [t["state"] for t in marked.json()["task_instances"]] == ["failed"]
    failed = api.get(base, params={"state": "failed"}).json()
    assert failed["total_entries"] == 1
    preview = api.post("/api/v2/dags/etl/clearTaskInstances", json={"dag_run_id": "r"})
    assert [t["task_id"] for t in preview.json()["task_instances"]] == ["transform"]
    assert api.get(f"{base}/transform").json()["state"] == "failed"
    cleared = api.post(
        "/api/v2/dags/etl/clearTaskInstances", json={"dag_run_id": "r", "dry_run": False}
    )
    assert cleared.status_code == 200
    assert api.get(f"{base}/transform").json()["state"] is None
    assert api.post("/api/v2/dags/etl/clearTaskInstances", "viewer", json={}).status_code == 403
    assert (
        api.get("/api/v2/dags/~/dagRuns/~/taskInstances", params={"limit": 2}).json()[
            "total_entries"
        ]
        == 3
    )


def test_clear_run_dry_run_by_default(api: Api) -> None:
    api.post("/api/v2/dags/etl/dagRuns", json={"logical_date": None, "dag_run_id": "r"})
    api.patch("/api/v2/dags/etl/dagRuns/r", json={"state": "failed"})
    dry = api.post("/api/v2/dags/etl/dagRuns/r/clear", json={})
    assert dry.json()["total_entries"] == 3
    assert api.get("/api/v2/dags/etl/dagRuns/r").json()["state"] == "failed"
    done = api.post("/api/v2/dags/etl/dagRuns/r/clear", json={"dry_run": False})
    assert done.json()["state"] == "queued"


def test_tries_and_logs(api: Api) -> None:
    import json

    from tradewind.core.log_files import log_path

    api.post("/api/v2/dags/report/dagRuns", json={"logical_date": None, "dag_run_id": "r"})
    api.patch("/api/v2/dags/report/dagRuns/r/taskInstances/only", json={"new_state": "success"})
    base = "/api/v2/dags/report/dagRuns/r/taskInstances/only"
    before = api.get(f"{base}/logs/1").json()  # marked by hand, never ran: no file yet
    assert "No log file" in before["content"][0]["event"]
    assert api.get(f"{base}/logs/2").status_code == 404
    from tradewind.services.testing import queue_single_task

    queue_single_task(api.env, "report", "r", "only")
    path = log_path(api.env.settings.log_folder, "report", "r", "only", 1)
    path.parent.mkdir(parents=True)
    lines = [{"timestamp": "2026-03-01T12:00:00+00:00", "level": "info", "event": "hello <b>"}]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines) + "plain line\n")
    log = api.get(f"{base}/logs/1").json()
    assert log["continuation_token"] is None
    assert [x["event"] for x in log["content"]] == ["hello <b>", "plain line"]
    assert log["content"][0]["level"] == "info"
    text = api.get(f"{base}/logs/1", headers={"Accept": "text/plain"})
    assert text.headers["content-type"].startswith("text/plain") and "hello <b>" in text.text
    tries = api.get(f"{base}/tries").json()
    assert tries["total_entries"] == 1 and tries["task_instances"][0]["try_number"] == 1
    assert api.get(f"{base}/tries/1").json()["try_number"] == 1
    assert api.get(f"{base}/tries/7").status_code == 404
    assert api.get(f"{base}/logs/1", "public").status_code == 403


def test_delete_run_and_dag(api: Api) -> None:
    api.post("/api/v2/dags/etl/dagRuns", json={"logical_date": None, "dag_run_id": "r"})
    assert api.delete("/api/v2/dags/etl/dagRuns/r", "viewer").status_code == 403
    assert api.delete("/api/v2/dags/etl/dagRuns/r").status_code == 204
    assert api.get("/api/v2/dags/etl/dagRuns/r").status_code == 404
    assert api.delete("/api/v2/dags/etl").status_code == 200
    assert api.get("/api/v2/dags/etl").status_code == 404
