"""The 3.3 state store (per asset, per task instance) and DAG favorites, through the client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.integration.api.conftest import Api
from tests.integration.api.test_assets import asset_id, assets_api  # noqa: F401

client = pytest.importorskip("airflow_client.client")
from airflow_client.client.api import AssetStateStoreApi, DAGApi, TaskStateStoreApi  # noqa: E402
from airflow_client.client.exceptions import ConflictException, NotFoundException  # noqa: E402
from airflow_client.client.models import (  # noqa: E402
    AssetStateStoreBody,
    TaskStateStoreBody,
    TaskStateStorePatchBody,
)


def test_asset_state_store(assets_api: Api, airflow_client: object) -> None:  # noqa: F811
    aid = asset_id(assets_api)
    states = AssetStateStoreApi(airflow_client)
    states.set_asset_state_store(
        key="watermark",
        asset_id=aid,
        asset_state_store_body=AssetStateStoreBody(value={"offset": 41}),
    )
    states.set_asset_state_store(
        key="watermark",
        asset_id=aid,
        asset_state_store_body=AssetStateStoreBody(value={"offset": 42}),
    )
    states.set_asset_state_store(
        key="alpha", asset_id=aid, asset_state_store_body=AssetStateStoreBody(value="a")
    )
    listed = states.list_asset_state_store(aid)
    assert [e.key for e in listed.asset_state_store] == ["alpha", "watermark"]
    assert listed.total_entries == 2
    one = states.get_asset_state_store(key="watermark", asset_id=aid)
    assert one.value == {"offset": 42}
    raw = assets_api.get(f"/api/v2/assets/{aid}/state-store/watermark").json()
    assert raw["value"] == {"offset": 42} and raw["last_updated_by"] == {"kind": "api"}
    states.delete_asset_state_store(key="alpha", asset_id=aid)
    states.delete_asset_state_store(key="alpha", asset_id=aid)  # no-op
    with pytest.raises(NotFoundException):
        states.get_asset_state_store(key="alpha", asset_id=aid)
    states.clear_asset_state_store(aid)
    assert states.list_asset_state_store(aid).total_entries == 0
    with pytest.raises(NotFoundException):
        states.list_asset_state_store(9999)
    viewer = assets_api.put(f"/api/v2/assets/{aid}/state-store/k", user="viewer", json={"value": 1})
    assert viewer.status_code == 403


def test_task_state_store_with_expiry(api: Api, airflow_client: object) -> None:
    api.post("/api/v2/dags/report/dagRuns", json={"logical_date": None, "dag_run_id": "r"})
    states = TaskStateStoreApi(airflow_client)
    states.set_task_state_store(
        key="cursor",
        dag_id="report",
        dag_run_id="r",
        task_id="only",
        task_state_store_body=TaskStateStoreBody(value=[1, 2]),
    )
    soon = api.env.now() + timedelta(minutes=5)
    states.set_task_state_store(
        key="lease",
        dag_id="report",
        dag_run_id="r",
        task_id="only",
        task_state_store_body=TaskStateStoreBody.from_dict(
            {"value": True, "expires_at": soon.isoformat()}
        ),
    )
    listed = states.list_task_state_store("report", "r", "only")
    assert {e.key: e.expires_at for e in listed.task_state_store} == {"cursor": None, "lease": soon}
    states.patch_task_state_store(
        key="cursor",
        dag_id="report",
        dag_run_id="r",
        task_id="only",
        task_state_store_patch_body=TaskStateStorePatchBody(value=[3]),
    )
    raw = api.get("/api/v2/dags/report/dagRuns/r/taskInstances/only/state-store/cursor").json()
    assert raw["value"] == [3]
    api.clock.advance(minutes=10)
    with pytest.raises(NotFoundException):
        states.get_task_state_store(
            key="lease", dag_id="report", dag_run_id="r", task_id="only"
        )  # expired
    with pytest.raises(NotFoundException):
        states.patch_task_state_store(
            key="gone",
            dag_id="report",
            dag_run_id="r",
            task_id="only",
            task_state_store_patch_body=TaskStateStorePatchBody(value=1),
        )
    with pytest.raises(NotFoundException):
        states.set_task_state_store(
            key="k",
            dag_id="report",
            dag_run_id="r",
            task_id="nope",
            task_state_store_body=TaskStateStoreBody(value=1),
        )
    states.clear_task_state_store("report", "r", "only", all_map_indices=True)
    assert states.list_task_state_store("report", "r", "only").total_entries == 0


def test_favorites_per_user(api: Api, airflow_client: object) -> None:
    dags = DAGApi(airflow_client)
    dags.favorite_dag("etl")
    dags.favorite_dag("etl")  # again: still one favorite
    assert [d.dag_id for d in dags.get_dags(is_favorite=True).dags] == ["etl"]
    assert [d.dag_id for d in dags.get_dags(is_favorite=False).dags] == ["report"]
    viewer = api.get("/api/v2/dags", user="viewer", params={"is_favorite": "true"}).json()
    assert viewer["total_entries"] == 0  # favorites belong to each user
    dags.unfavorite_dag("etl")
    with pytest.raises(ConflictException):
        dags.unfavorite_dag("etl")
    with pytest.raises(NotFoundException):
        dags.favorite_dag("nope")
