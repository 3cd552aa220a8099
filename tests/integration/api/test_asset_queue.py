"""Asset aliases and queued asset events (per asset, per DAG) through the official client."""

from __future__ import annotations

import pytest
from tests.integration.api.conftest import Api
from tests.integration.api.test_assets import asset_id, assets_api  # noqa: F401

client = pytest.importorskip("airflow_client.client")
from airflow_client.client.api import AssetApi  # noqa: E402
from airflow_client.client.exceptions import NotFoundException  # noqa: E402
from airflow_client.client.models import CreateAssetEventsBody  # noqa: E402


def test_aliases_are_an_empty_list_and_a_404(api: Api, airflow_client: object) -> None:
    assets = AssetApi(airflow_client)
    listed = assets.get_asset_aliases(name_pattern="x")
    assert listed.asset_aliases == [] and listed.total_entries == 0
    with pytest.raises(NotFoundException):
        assets.get_asset_alias(1)
    assert api.get("/api/v2/assets/aliases/abc").status_code == 422  # an alias id is an int


def test_queued_events_per_asset_and_per_dag(
    assets_api: Api,  # noqa: F811
    airflow_client: object,
) -> None:
    assets = AssetApi(airflow_client)
    aid = asset_id(assets_api)
    with pytest.raises(NotFoundException):
        assets.get_asset_queued_events(aid)
    assets.create_asset_event(CreateAssetEventsBody(asset_id=aid, extra={}))
    by_asset = assets.get_asset_queued_events(aid)
    assert [(e.dag_id, e.asset_id) for e in by_asset.queued_events] == [("consume", aid)]
    by_dag = assets.get_dag_asset_queued_events("consume")
    assert by_dag.total_entries == 1 and by_dag.queued_events[0].dag_display_name == "consume"
    one = assets.get_dag_asset_queued_event("consume", aid)
    assert one.asset_id == aid and one.created_at is not None
    earlier = assets_api.get(
        f"/api/v2/assets/{aid}/queuedEvents", params={"before": "2000-01-01T00:00:00Z"}
    )
    assert earlier.status_code == 404
    bad = assets_api.get(f"/api/v2/assets/{aid}/queuedEvents", params={"before": "yesterday"})
    assert bad.status_code == 400
    assert assets_api.delete(f"/api/v2/assets/{aid}/queuedEvents", user="user").status_code == 403

    assets.delete_dag_asset_queued_event("consume", aid)
    with pytest.raises(NotFoundException):
        assets.get_dag_asset_queued_event("consume", aid)
    assets.create_asset_event(CreateAssetEventsBody(asset_id=aid, extra={}))
    assets.delete_dag_asset_queued_events("consume")
    with pytest.raises(NotFoundException):
        assets.get_dag_asset_queued_events("consume")
    assets.create_asset_event(CreateAssetEventsBody(asset_id=aid, extra={}))
    assets.delete_asset_queued_events(aid)
    with pytest.raises(NotFoundException):
        assets.delete_asset_queued_events(aid)


def test_materialize_triggers_the_producing_dag(
    assets_api: Api,  # noqa: F811
    airflow_client: object,
) -> None:
    from airflow_client.client.models import MaterializeAssetBody

    from tradewind.services.testing import store_dag_object

    assets = AssetApi(airflow_client)
    aid = asset_id(assets_api)
    run = assets.materialize_asset(aid, MaterializeAssetBody(dag_run_id="m1", note="fresh"))
    assert run.dag_id == "produce" and run.dag_run_id == "m1" and run.note == "fresh"
    assert run.logical_date is None and run.triggering_user_name == "admin"
    with pytest.raises(NotFoundException):
        assets.materialize_asset(9999)
    assert assets_api.post(f"/api/v2/assets/{aid}/materialize", user="viewer").status_code == 403

    from datetime import UTC, datetime

    from tests.integration.api.test_assets import ORDERS

    from tradewind import DAG
    from tradewind.operators.empty import EmptyOperator
    from tradewind.sdk.assets import Asset

    with DAG("produce_too", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:
        EmptyOperator(task_id="w", outlets=[Asset(ORDERS)])
    dag.fileloc = "/tmp/produce_too.py"
    store_dag_object(assets_api.env, dag)
    conflict = assets_api.post(f"/api/v2/assets/{aid}/materialize")
    assert conflict.status_code == 409 and "produce_too" in conflict.json()["detail"]
