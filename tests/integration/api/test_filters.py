"""The 3.3 spec's extra list filters: each narrows the list as Airflow's does."""

from __future__ import annotations

from tests.integration.api.conftest import Api


def _trigger(
    api: Api, dag_id: str, run_id: str, date: str | None, conf: dict | None = None
) -> None:
    body = {"logical_date": date, "dag_run_id": run_id, "conf": conf or {}}
    assert api.post(f"/api/v2/dags/{dag_id}/dagRuns", json=body).status_code == 200


def _ids(answer: dict, key: str, field: str) -> list[str]:
    return [item[field] for item in answer[key]]


def test_run_filters(api: Api) -> None:
    _trigger(api, "etl", "manual_a", "2026-02-01T00:00:00Z", {"region": "eu"})
    _trigger(api, "etl", "other_b", "2026-02-02T00:00:00Z")
    _trigger(api, "report", "manual_c", None)
    runs = "/api/v2/dags/~/dagRuns"
    get = lambda **p: _ids(api.get(runs, params=p).json(), "dag_runs", "dag_run_id")  # noqa: E731
    assert get(dag_id_prefix_pattern="rep") == ["manual_c"]
    assert get(dag_id_pattern="ET") == ["manual_a", "other_b"]
    assert get(run_id_prefix_pattern="manual_") == ["manual_a", "manual_c"]
    assert get(conf_contains="eu") == ["manual_a"]
    assert get(triggering_user_name_pattern="adm") == ["manual_a", "other_b", "manual_c"]
    assert get(dag_version=1) == ["manual_a", "other_b", "manual_c"]
    assert get(dag_version=2) == []
    assert get(bundle_version="v1") == [] and get(partition_key_pattern="2026") == []
    api.patch("/api/v2/dags/etl/dagRuns/manual_a", json={"state": "success"})
    assert get(updated_at_gte="2026-01-01T00:00:00Z") != []
    from datetime import UTC, datetime, timedelta

    from tradewind.metastore.tables import DagRun

    with api.env.db.session() as session:
        run = session.query(DagRun).filter_by(run_id="other_b").one()
        run.start_date = datetime(2026, 2, 2, tzinfo=UTC)
        run.end_date = run.start_date + timedelta(seconds=90)
    assert get(duration_gte=60) == ["other_b"]
    assert get(duration_lt=60) == [r for r in get(duration_lt=60) if r != "other_b"]
    assert get(duration_gt=10_000) == []


def test_task_instance_filters(api: Api) -> None:
    _trigger(api, "etl", "r", "2026-02-01T00:00:00Z")
    tis = "/api/v2/dags/~/dagRuns/~/taskInstances"
    get = lambda **p: sorted(_ids(api.get(tis, params=p).json(), "task_instances", "task_id"))  # noqa: E731
    assert get(pool_name_pattern="default") == ["extract", "load", "transform"]
    assert get(pool_name_prefix_pattern="gpu") == []
    assert get(queue_name_pattern="default") == ["extract", "load", "transform"]
    assert get(operator_name_pattern="Empty") == ["extract", "load", "transform"]
    assert get(dag_id_prefix_pattern="et") == ["extract", "load", "transform"]
    assert get(task_display_name_prefix_pattern="tr") == ["transform"]
    assert get(version_number=1) == ["extract", "load", "transform"]
    assert get(version_number=9) == []
    assert get(task_group_id="nope") == []
    assert get(rendered_map_index_pattern="x") == []
    api.patch("/api/v2/dags/etl/dagRuns/r/taskInstances/extract", json={"new_state": "success"})
    assert get(updated_at_gte="2000-01-01T00:00:00Z") == ["extract", "load", "transform"]
    assert get(updated_at_gte="2100-01-01T00:00:00Z") == []
    assert get(duration_gte=10_000) == []


def test_dag_filters(api: Api) -> None:
    _trigger(api, "etl", "r", "2026-02-01T00:00:00Z")
    api.patch("/api/v2/dags/etl/dagRuns/r", json={"state": "failed"})
    get = lambda **p: _ids(api.get("/api/v2/dags", params=p).json(), "dags", "dag_id")  # noqa: E731
    assert get(dag_run_state="failed") == ["etl"]
    assert get(dag_run_state="success") == []
    assert get(dag_display_name_prefix_pattern="rep") == ["report"]
    assert get(has_asset_schedule="false") == ["etl", "report"]
    assert get(has_asset_schedule="true") == []
    assert get(bundle_name="dags-folder") == ["etl", "report"] and get(bundle_name="x") == []
    assert get(dag_run_end_date_gte="2000-01-01T00:00:00Z") == ["etl"]  # marked: it has ended
    assert get(dag_run_end_date_lt="2000-01-01T00:00:00Z") == []
    assert get(asset_dependency="s3://") == []


def test_small_list_filters(api: Api) -> None:
    api.post("/api/v2/pools", json={"name": "gpu_big", "slots": 1})
    pools = api.get("/api/v2/pools", params={"pool_name_prefix_pattern": "gpu"}).json()
    assert _ids(pools, "pools", "name") == ["gpu_big"]
    tags = api.get("/api/v2/dagTags", params={"tag_name_prefix_pattern": "da"}).json()
    assert tags["tags"] == ["daily"]
    api.post("/api/v2/variables", json={"key": "k", "value": "v"})
    logs = api.get("/api/v2/eventLogs", params={"event_prefix_pattern": "variable_"}).json()
    assert logs["total_entries"] == 1 and logs["event_logs"][0]["event"] == "variable_create"
    errors = api.get("/api/v2/importErrors", params={"bundle_name": "elsewhere"}).json()
    assert errors["total_entries"] == 0
