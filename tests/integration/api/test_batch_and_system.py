"""Batch lists, DAG versions, jobs, plugins, and triggering a paused DAG through the API."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from tests.integration.api.conftest import NOW, Api


def trigger(api: Api, dag_id: str, run_id: str, conf: dict[str, object] | None = None) -> None:
    body = {"logical_date": None, "dag_run_id": run_id, "conf": conf or {}}
    answer = api.post(f"/api/v2/dags/{dag_id}/dagRuns", json=body)
    assert answer.status_code == 200, answer.text


def test_trigger_on_a_paused_dag_creates_a_queued_run(api: Api) -> None:
    api.patch("/api/v2/dags/etl", json={"is_paused": True})
    trigger(api, "etl", "while_paused")
    run = api.get("/api/v2/dags/etl/dagRuns/while_paused").json()
    assert run["state"] == "queued"


def test_dag_runs_batch_list(api: Api) -> None:
    trigger(api, "etl", "e1", {"region": "eu"})
    api.clock.advance(minutes=1)
    trigger(api, "report", "r1", {"n": 2})
    url = "/api/v2/dags/~/dagRuns/list"
    both = api.post(url, json={}).json()
    assert both["total_entries"] == 2
    only = api.post(url, json={"dag_ids": ["report"]}).json()
    assert [r["dag_run_id"] for r in only["dag_runs"]] == ["r1"]
    newest = api.post(url, json={"order_by": "-run_after", "page_limit": 1}).json()
    assert [r["dag_run_id"] for r in newest["dag_runs"]] == ["r1"] and newest["total_entries"] == 2
    assert api.post(url, json={"page_offset": 1}).json()["dag_runs"][0]["dag_run_id"] == "r1"
    queued = api.post(url, json={"states": ["queued"]}).json()["total_entries"]
    assert queued == 2 and api.post(url, json={"states": ["success"]}).json()["total_entries"] == 0
    eu = api.post(url, json={"conf_contains": "eu"}).json()["dag_runs"]
    assert [r["dag_run_id"] for r in eu] == ["e1"]
    later = (NOW + timedelta(seconds=30)).isoformat()
    assert api.post(url, json={"run_after_gte": later}).json()["total_entries"] == 1
    assert api.post("/api/v2/dags/etl/dagRuns/list", json={}).status_code == 422
    assert api.post(url, json={"bogus": 1}).status_code == 422
    assert api.post(url, "public", json={}).status_code == 403


def test_task_instances_batch_list(api: Api) -> None:
    trigger(api, "etl", "e1")
    trigger(api, "report", "r1")
    url = "/api/v2/dags/~/dagRuns/~/taskInstances/list"
    everything = api.post(url, json={}).json()
    assert everything["total_entries"] == 4  # etl has 3 tasks, report 1
    etl = api.post(url, json={"dag_ids": ["etl"], "task_ids": ["load", "extract"]}).json()
    assert sorted(t["task_id"] for t in etl["task_instances"]) == ["extract", "load"]
    assert api.post(url, json={"dag_run_ids": ["r1"]}).json()["total_entries"] == 1
    no_state = api.post(url, json={"state": [None]}).json()["total_entries"]
    assert no_state == 4 and api.post(url, json={"state": ["failed"]}).json()["total_entries"] == 0
    page = api.post(url, json={"page_limit": 2, "order_by": "task_id"}).json()
    assert [t["task_id"] for t in page["task_instances"]] == ["extract", "load"]
    assert api.post("/api/v2/dags/~/dagRuns/e1/taskInstances/list", json={}).status_code == 422


def test_dag_versions(api: Api) -> None:
    listed = api.get("/api/v2/dags/etl/dagVersions").json()
    assert listed["total_entries"] == 1
    version = listed["dag_versions"][0]
    assert version["version_number"] == 1 and version["dag_id"] == "etl"
    one = api.get("/api/v2/dags/etl/dagVersions/1").json()
    assert one["id"] == version["id"]
    assert api.get("/api/v2/dags/etl/dagVersions/7").status_code == 404
    assert api.get("/api/v2/dags/nope/dagVersions").status_code == 404


def test_jobs_list_and_alive_filter(api: Api) -> None:
    from tradewind.services.queueing import end_job, register_job

    with api.env.db.session() as s:
        register_job(s, "SchedulerJob", NOW, exclusive=False, dead_after=60)
        old = register_job(
            s, "TriggererJob", NOW - timedelta(hours=1), exclusive=False, dead_after=60
        )
        end_job(s, old, NOW - timedelta(minutes=30))
    jobs = api.get("/api/v2/jobs").json()
    assert jobs["total_entries"] == 2
    alive = api.get("/api/v2/jobs", params={"is_alive": "true"}).json()["jobs"]
    assert [j["job_type"] for j in alive] == ["SchedulerJob"]
    by_type = api.get("/api/v2/jobs", params={"job_type": "TriggererJob"}).json()
    assert by_type["jobs"][0]["state"] != "running"
    assert api.get("/api/v2/jobs", "public").status_code == 403


def test_plugins_lists_the_plugins_folder(api: Api, tmp_path: Path) -> None:
    import tradewind.plugins_manager as pm

    folder = tmp_path / "plugins_here"
    folder.mkdir()
    (folder / "greeting.py").write_text(
        "from tradewind.plugins_manager import TradewindPlugin\n"
        "def hello(name):\n    return 'hello ' + name\n"
        "class Greeting(TradewindPlugin):\n    name = 'greeting'\n    macros = [hello]\n"
    )
    pm.load_plugins(folder=str(folder), reload=True)
    try:
        answer = api.get("/api/v2/plugins").json()
    finally:
        pm._loaded = None  # the next user of plugins in this process scans again
    assert answer["total_entries"] >= 1
    (greeting,) = [p for p in answer["plugins"] if p["name"] == "greeting"]
    assert greeting["macros"] == ["hello"] and greeting["source"].endswith("greeting.py")
    assert api.get("/api/v2/plugins", "user").status_code == 403
    assert api.get("/api/v2/plugins", "op").status_code == 200


@pytest.mark.parametrize("path", ["/api/v2/jobs", "/api/v2/plugins", "/api/v2/assets"])
def test_new_lists_need_a_token(api: Api, path: str) -> None:
    assert api.client.get(path).status_code == 401
