"""Assets and asset events through the API: producers, consumers, events, triggered runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tests.integration.api.conftest import Api

ORDERS = "s3://bucket/orders.parquet"
START = datetime(2026, 1, 1, tzinfo=UTC)


def asset_dags(folder: str) -> tuple[object, object]:
    """``produce`` writes the orders asset; ``consume`` is scheduled on it."""
    from tradewind import DAG
    from tradewind.operators.empty import EmptyOperator
    from tradewind.sdk.assets import Asset

    orders = Asset(ORDERS)
    with DAG("produce", schedule=None, start_date=START) as produce:
        EmptyOperator(task_id="write_orders", outlets=[orders])
    with DAG("consume", schedule=[orders], start_date=START, is_paused_upon_creation=False) as c:
        EmptyOperator(task_id="read_orders")
    produce.fileloc = f"{folder}/produce.py"
    c.fileloc = f"{folder}/consume.py"
    return produce, c


@pytest.fixture
def assets_api(api: Api) -> Api:
    from tradewind.services.testing import store_dag_object

    for dag in asset_dags(str(api.env.settings.dags_folder)):
        store_dag_object(api.env, dag)
    return api


def schedule_asset_runs(api: Api) -> int:
    """One scheduler pass over the asset queue (what the scheduler loop does)."""
    from tradewind.services.asset_scheduling import create_asset_triggered_runs
    from tradewind.services.scheduling import DagCache

    with api.env.db.session() as s:
        return create_asset_triggered_runs(s, DagCache(), api.env.now())


def asset_id(api: Api) -> int:
    found = api.get("/api/v2/assets", params={"uri_pattern": "orders"}).json()
    assert found["total_entries"] == 1
    return int(found["assets"][0]["id"])


def test_assets_list_shows_producers_and_consumers(assets_api: Api) -> None:
    api = assets_api
    listed = api.get("/api/v2/assets").json()
    assert [a["uri"] for a in listed["assets"]] == [ORDERS]
    asset = listed["assets"][0]
    assert [d["dag_id"] for d in asset["scheduled_dags"]] == ["consume"]
    assert [(t["dag_id"], t["task_id"]) for t in asset["producing_tasks"]] == [
        ("produce", "write_orders")
    ]
    assert asset["last_asset_event"] is None
    assert api.get(f"/api/v2/assets/{asset['id']}").json()["uri"] == ORDERS
    assert api.get("/api/v2/assets/9999").status_code == 404
    by_dag = api.get("/api/v2/assets", params={"dag_ids": ["etl"]}).json()
    assert by_dag["total_entries"] == 0
    assert api.get("/api/v2/assets", params={"dag_ids": ["produce"]}).json()["total_entries"] == 1
    assert api.get("/api/v2/assets", params={"uri_pattern": "nothing"}).json()["assets"] == []
    paged = api.get("/api/v2/assets", params={"limit": 0}).json()
    assert paged == {"assets": [], "total_entries": 1}
    assert api.get("/api/v2/assets", "viewer").status_code == 200
    assert api.get("/api/v2/assets", "public").status_code == 403


def test_a_task_outlet_event_is_listed_and_filtered(assets_api: Api) -> None:
    from tradewind.dag_test import run_dag_in_process

    api = assets_api
    produce, _ = asset_dags(str(api.env.settings.dags_folder))
    result = run_dag_in_process(produce, START, env=api.env, echo=False)
    events = api.get("/api/v2/assets/events", params={"source_dag_id": "produce"}).json()
    assert events["total_entries"] == 1
    event = events["asset_events"][0]
    assert (event["uri"], event["source_task_id"]) == (ORDERS, "write_orders")
    assert event["source_run_id"] == result.run_id
    for params in (
        {"source_task_id": "other"},
        {"source_run_id": "nope"},
        {"asset_id": 9999},
    ):
        assert api.get("/api/v2/assets/events", params=params).json()["total_entries"] == 0
    assert (
        api.get("/api/v2/assets/events", params={"asset_id": asset_id(api)}).json()["total_entries"]
        == 1
    )
    assert api.get("/api/v2/assets/events", params={"order_by": "bogus"}).status_code == 400


def test_an_event_posted_by_hand_triggers_the_consumer_once(assets_api: Api) -> None:
    api = assets_api
    aid = asset_id(api)
    viewer = api.post("/api/v2/assets/events", "viewer", json={"asset_id": aid})
    assert viewer.status_code == 403
    assert api.post("/api/v2/assets/events", json={"asset_id": 9999}).status_code == 404
    api.clock.advance(minutes=1)
    posted = api.post("/api/v2/assets/events", "user", json={"asset_id": aid, "extra": {"k": 1}})
    assert posted.status_code == 200, posted.text
    event = posted.json()
    assert event["source_dag_id"] is None and event["extra"] == {"k": 1, "from_rest_api": True}
    assert event["created_dagruns"] == []
    api.clock.advance(seconds=5)
    assert schedule_asset_runs(api) == 1
    assert schedule_asset_runs(api) == 0  # the update was consumed: no second run
    runs = api.get("/api/v2/dags/consume/dagRuns").json()["dag_runs"]
    assert [r["run_type"] for r in runs] == ["asset_triggered"]
    run_id = runs[0]["dag_run_id"]
    upstream = api.get(f"/api/v2/dags/consume/dagRuns/{run_id}/upstreamAssetEvents").json()
    assert [e["id"] for e in upstream["asset_events"]] == [event["id"]]
    listed = api.get("/api/v2/assets/events", params={"asset_id": aid}).json()["asset_events"]
    (created,) = listed[0]["created_dagruns"]
    assert (created["dag_id"], created["run_id"], created["triggering"]) == (
        "consume",
        run_id,
        True,
    )
    asset = api.get(f"/api/v2/assets/{aid}").json()
    assert asset["last_asset_event"]["id"] == event["id"]
    missing = api.get("/api/v2/dags/consume/dagRuns/nope/upstreamAssetEvents")
    assert missing.status_code == 404
    audit = api.get("/api/v2/eventLogs", params={"event": "asset_event_create"}).json()
    assert [e["owner"] for e in audit["event_logs"]] == ["user"]
