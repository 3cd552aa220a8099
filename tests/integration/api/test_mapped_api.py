"""The REST API on mapped task instances: listMapped (order, paging, state filters, 404s),
one map index, its tries, log and XCom, marking and clearing one instance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tradewind import DAG, task

from .conftest import Api

DAY = datetime(2026, 1, 5, tzinfo=UTC)


def _mapped_dag() -> DAG:
    with DAG("fan", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:

        @task
        def items() -> list[str]:
            return ["a", "b", "c", "d", "e"]

        @task(retries=1, retry_delay=timedelta(0), map_index_template="{{ task.op_kwargs['x'] }}")
        def work(x: str) -> str:
            if x == "d":
                raise ValueError("d is broken")
            print(f"working on {x}")
            return x.upper()

        @task(trigger_rule="all_done")
        def collect(values: Any) -> list[str]:
            return list(values)

        collect(work.expand(x=items()))
    return dag


@pytest.fixture
def run_id(api: Api) -> str:
    from tradewind.dag_test import run_dag_in_process

    result = run_dag_in_process(_mapped_dag(), DAY, env=api.env, no_retry_delay=True, echo=False)
    assert result.state == "success"  # the leaf (all_done) decides
    return result.run_id


def _base(run_id: str) -> str:
    return f"/api/v2/dags/fan/dagRuns/{run_id}/taskInstances"


def test_list_mapped_orders_pages_and_filters(api: Api, run_id: str) -> None:
    url = _base(run_id) + "/work/listMapped"
    body = api.get(url).json()
    assert body["total_entries"] == 5
    items = body["task_instances"]
    assert [i["map_index"] for i in items] == [0, 1, 2, 3, 4]
    assert [i["rendered_map_index"] for i in items] == ["a", "b", "c", "d", "e"]
    assert [i["state"] for i in items] == ["success"] * 3 + ["failed", "success"]
    assert "_rendered_map_index" not in items[0]["rendered_fields"]
    assert items[3]["try_number"] == 2
    page = api.get(url, params={"limit": 2, "offset": 1, "order_by": "-map_index"}).json()
    assert [i["map_index"] for i in page["task_instances"]] == [3, 2]
    assert page["total_entries"] == 5
    named = api.get(url, params={"rendered_map_index_pattern": "c|E"}).json()
    assert [i["map_index"] for i in named["task_instances"]] == [2, 4]
    by_name = api.get(url, params={"order_by": "-rendered_map_index", "limit": 1}).json()
    assert by_name["task_instances"][0]["rendered_map_index"] == "e"
    failed = api.get(url, params={"state": "failed"}).json()
    assert [i["map_index"] for i in failed["task_instances"]] == [3]
    assert failed["total_entries"] == 1
    assert api.get(url, params={"state": "bogus"}).status_code == 400


def test_list_mapped_404s_as_airflow(api: Api, run_id: str) -> None:
    plain = api.get(_base(run_id) + "/collect/listMapped")
    assert plain.status_code == 404 and "Task id collect is not mapped" in plain.text
    unknown = api.get(_base(run_id) + "/nope/listMapped")
    assert unknown.status_code == 404 and "Task id nope not found" in unknown.text
    assert api.get(_base("no_such_run") + "/work/listMapped").status_code == 404
    assert api.get(_base(run_id) + "/work/listMapped", user="public").status_code == 403


def test_one_map_index_its_tries_log_and_xcom(api: Api, run_id: str) -> None:
    one = api.get(_base(run_id) + "/work/3").json()
    assert (one["map_index"], one["state"], one["rendered_map_index"]) == (3, "failed", "d")
    tries = api.get(_base(run_id) + "/work/3/tries").json()
    assert [t["try_number"] for t in tries["task_instances"]] == [1, 2]
    assert all(t["map_index"] == 3 for t in tries["task_instances"])
    second = api.get(_base(run_id) + "/work/3/tries/2").json()
    assert second["state"] == "failed"
    log = api.get(
        _base(run_id) + "/work/logs/1", params={"map_index": 1}, headers={"Accept": "text/plain"}
    )
    assert "working on b" in log.text
    xcom = api.get(_base(run_id) + "/work/xcomEntries/return_value", params={"map_index": 4})
    assert xcom.json()["value"] == "E"
    reduced = api.get(_base(run_id) + "/collect/xcomEntries/return_value").json()
    assert reduced["value"] == ["A", "B", "C", "E"]
    assert api.get(_base(run_id) + "/work/9").status_code == 404
    task = api.get("/api/v2/dags/fan/tasks/work").json()
    assert task["is_mapped"] is True
    assert api.get("/api/v2/dags/fan/tasks/collect").json()["is_mapped"] is False


def test_mark_and_clear_one_instance(api: Api, run_id: str) -> None:
    marked = api.patch(_base(run_id) + "/work/3", json={"new_state": "success"})
    assert marked.status_code == 200, marked.text
    changed = marked.json()["task_instances"]
    assert [(t["map_index"], t["state"]) for t in changed] == [(3, "success")]
    states = {
        i["map_index"]: i["state"]
        for i in api.get(_base(run_id) + "/work/listMapped").json()["task_instances"]
    }
    assert states == dict.fromkeys(range(5), "success")
    cleared = api.post(
        "/api/v2/dags/fan/clearTaskInstances",
        json={
            "dry_run": False,
            "only_failed": False,
            "dag_run_id": run_id,
            "task_ids": [["work", 1]],
        },
    ).json()
    assert [(t["task_id"], t["map_index"]) for t in cleared["task_instances"]] == [("work", 1)]
    after = {
        i["map_index"]: i["state"]
        for i in api.get(_base(run_id) + "/work/listMapped").json()["task_instances"]
    }
    assert after == {0: "success", 1: None, 2: "success", 3: "success", 4: "success"}
    # the cleared instance's XCom is gone, the others' stay
    gone = api.get(_base(run_id) + "/work/xcomEntries/return_value", params={"map_index": 1})
    assert gone.status_code == 404
    kept = api.get(_base(run_id) + "/work/xcomEntries/return_value", params={"map_index": 2})
    assert kept.json()["value"] == "C"
