"""Bulk PATCH of DAG runs and task instances, clearDagRuns, clearPartitions and task-group
marking, through the official client."""

from __future__ import annotations

import pytest
from tests.integration.api.conftest import Api

client = pytest.importorskip("airflow_client.client")
from airflow_client.client.api import DagRunApi, TaskInstanceApi  # noqa: E402
from airflow_client.client.exceptions import NotFoundException  # noqa: E402
from airflow_client.client.models import (  # noqa: E402
    BulkBodyBulkDAGRunBody,
    BulkBodyBulkTaskInstanceBody,
    BulkDAGRunClearBody,
    ClearPartitionsBody,
    PatchTaskInstanceBody,
)


def _trigger(api: Api, run_id: str, day: int) -> None:
    answer = api.post(
        "/api/v2/dags/etl/dagRuns",
        json={"logical_date": f"2026-02-{day:02d}T00:00:00Z", "dag_run_id": run_id},
    )
    assert answer.status_code == 200, answer.text


def test_bulk_dag_runs_mark_note_delete(api: Api, airflow_client: object) -> None:
    for i, run_id in enumerate(("a", "b", "c"), start=1):
        _trigger(api, run_id, i)
    runs = DagRunApi(airflow_client)
    answer = runs.bulk_dag_runs(
        "etl",
        BulkBodyBulkDAGRunBody.from_dict({"actions": [
            {"action": "update", "entities": [{"dag_run_id": "a", "state": "failed"},
                                              {"dag_run_id": "b", "note": "look"}]},
            {"action": "delete", "entities": ["c", "nope"], "action_on_non_existence": "skip"},
            {"action": "create", "entities": [{"dag_run_id": "new"}]},
        ]}),
    )  # fmt: skip
    assert answer.update.success == ["etl/a", "etl/b"] and answer.delete.success == ["etl/c"]
    assert answer.create.errors[0]["status_code"] == 400
    assert runs.get_dag_run("etl", "a").state.value == "failed"
    assert runs.get_dag_run("etl", "b").note == "look"
    with pytest.raises(NotFoundException):
        runs.get_dag_run("etl", "c")
    everywhere = api.patch(
        "/api/v2/dags/~/dagRuns",
        json={"actions": [{"action": "update", "entities": [{"dag_run_id": "a", "note": "x"}]}]},
    ).json()
    assert everywhere["update"]["errors"][0]["status_code"] == 400  # dag_id needed with ~
    viewer = api.patch("/api/v2/dags/etl/dagRuns", user="viewer", json={"actions": []})
    assert viewer.status_code == 200  # no action, nothing to forbid
    denied = api.patch(
        "/api/v2/dags/etl/dagRuns", user="viewer",
        json={"actions": [{"action": "delete", "entities": ["a"]}]},
    )  # fmt: skip
    assert denied.status_code == 403


def test_bulk_task_instances(api: Api, airflow_client: object) -> None:
    _trigger(api, "r", 1)
    tis = TaskInstanceApi(airflow_client)
    answer = tis.bulk_task_instances(
        "etl",
        "r",
        BulkBodyBulkTaskInstanceBody.from_dict({"actions": [
            {"action": "update", "entities": [{"task_id": "extract", "new_state": "success"},
                                              {"task_id": "load", "note": "later"}]},
            {"action": "delete", "entities": ["transform"]},
        ]}),
    )  # fmt: skip
    assert answer.update.success == ["etl/r/extract", "etl/r/load"]
    assert answer.delete.success == ["etl/r/transform"]
    assert tis.get_task_instance("etl", "r", "extract").state.value == "success"
    assert tis.get_task_instance("etl", "r", "load").note == "later"
    with pytest.raises(NotFoundException):
        tis.get_task_instance("etl", "r", "transform")


def test_clear_dag_runs_dry_run_then_for_real(api: Api, airflow_client: object) -> None:
    _trigger(api, "a", 1)
    _trigger(api, "b", 2)
    for run_id in ("a", "b"):
        api.patch(f"/api/v2/dags/etl/dagRuns/{run_id}", json={"state": "failed"})
    runs = DagRunApi(airflow_client)
    body = {"dag_runs": [{"dag_run_id": "a"}, {"dag_run_id": "b"}]}
    # The 3.3.2 client cannot read a dry run's task instances (its oneOf of TaskInstanceResponse
    # and NewTaskResponse matches both, for Airflow's answers too), so read that one raw.
    preview = api.post("/api/v2/dags/etl/clearDagRuns", json=body).json()
    assert preview["total_entries"] == 6  # 3 task instances in each run
    assert runs.get_dag_run("etl", "a").state.value == "failed"
    done = runs.clear_dag_runs(
        "etl", BulkDAGRunClearBody.from_dict({**body, "dry_run": False, "note": "again"})
    ).actual_instance
    assert sorted(r.dag_run_id for r in done.dag_runs) == ["a", "b"]
    assert all(r.state.value == "queued" and r.note == "again" for r in done.dag_runs)
    missing = api.post("/api/v2/dags/etl/clearDagRuns", json={"dag_runs": [{"dag_run_id": "x"}]})
    assert missing.status_code == 404
    assert api.post("/api/v2/dags/etl/clearDagRuns", json={}).status_code == 400
    none = api.post(
        "/api/v2/dags/etl/clearDagRuns", json={"partition_key": "2026-01", "dry_run": True}
    ).json()
    assert none["total_entries"] == 0  # Tradewind's runs have no partition


def test_clear_partitions_changes_nothing_without_partitions(
    api: Api, airflow_client: object
) -> None:
    _trigger(api, "a", 1)
    answer = DagRunApi(airflow_client).clear_dag_run_partitions(
        "etl", ClearPartitionsBody(run_id="a", dry_run=False)
    )
    assert (answer.dag_runs_cleared, answer.task_instances_cleared, answer.dry_run) == (0, 0, False)
    assert api.post("/api/v2/dags/nope/clearPartitions", json={}).status_code == 404


def test_mark_a_task_group(api: Api, airflow_client: object) -> None:
    from datetime import UTC, datetime

    from tradewind import DAG, TaskGroup
    from tradewind.operators.empty import EmptyOperator
    from tradewind.services.testing import store_dag_object

    with DAG("grouped", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:
        with TaskGroup("g"):
            EmptyOperator(task_id="one")
            with TaskGroup("inner"):
                EmptyOperator(task_id="two")
        EmptyOperator(task_id="outside")
    dag.fileloc = "/tmp/grouped.py"
    store_dag_object(api.env, dag)
    api.post("/api/v2/dags/grouped/dagRuns", json={"logical_date": None, "dag_run_id": "r"})
    tis = TaskInstanceApi(airflow_client)
    body = PatchTaskInstanceBody(new_state="success")
    dry = tis.patch_task_group_instances_dry_run("grouped", "r", "g", body)
    assert sorted(t.task_id for t in dry.task_instances) == ["g.inner.two", "g.one"]
    assert tis.get_task_instance("grouped", "r", "g.one").state is None
    done = tis.patch_task_group_instances("grouped", "r", "g", body)
    assert {t.state.value for t in done.task_instances} == {"success"}
    assert tis.get_task_instance("grouped", "r", "outside").state is None
    with pytest.raises(NotFoundException):
        tis.patch_task_group_instances("grouped", "r", "nope", body)
