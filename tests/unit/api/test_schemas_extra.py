"""The asset, job, plugin, DAG-version and batch models match the spec and the client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from tradewind.api.v2 import schemas_extra as sx

client_models = pytest.importorskip("airflow_client.client.models")
from tests.unit.api.test_schemas import (  # noqa: E402
    SPEC_PATH,
    client_body,
    dag_version,
    shape,
    through_client,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def asset() -> sx.AssetResponse:
    return sx.AssetResponse(
        id=1, name="orders", uri="s3://b/orders", group="asset", extra={"owner": "sales"},
        created_at=T0, updated_at=T0,
        scheduled_dags=[sx.DagScheduleAssetReference(dag_id="c", created_at=T0, updated_at=T0)],
        producing_tasks=[
            sx.TaskOutletAssetReference(dag_id="p", task_id="w", created_at=T0, updated_at=T0)
        ],
        consuming_tasks=[], aliases=[], watchers=[],
        last_asset_event=sx.LastAssetEventResponse(id=4, timestamp=T1),
    )  # fmt: skip


def asset_event() -> sx.AssetEventResponse:
    run = sx.DagRunAssetReference(
        run_id="asset_triggered__1", dag_id="c", logical_date=T1, start_date=T1, end_date=None,
        state="running", data_interval_start=None, data_interval_end=None, partition_key=None,
        triggering=True,
    )  # fmt: skip
    return sx.AssetEventResponse(
        id=4, asset_id=1, uri="s3://b/orders", name="orders", group="asset", extra={},
        source_task_id="w", source_dag_id="p", source_run_id="manual__1", source_map_index=-1,
        created_dagruns=[run], timestamp=T0, partition_key=None,
    )  # fmt: skip


def job() -> Any:
    from tradewind.api.v2.schemas import JobResponse

    return JobResponse(
        id=1, dag_id=None, state="running", job_type="SchedulerJob", start_date=T0,
        end_date=None, latest_heartbeat=T1, executor_class=None, hostname="h", unixname=None,
    )  # fmt: skip


def plugin() -> sx.PluginResponse:
    return sx.PluginResponse(
        name="greeting", macros=["hello"], flask_blueprints=[], fastapi_apps=[],
        fastapi_root_middlewares=[], external_views=[], react_apps=[], appbuilder_views=[],
        appbuilder_menu_items=[], global_operator_extra_links=[], operator_extra_links=[],
        source="/plugins/greeting.py", listeners=[], timetables=[],
    )  # fmt: skip


RESPONSES: dict[str, Any] = {
    "AssetResponse": asset,
    "AssetCollectionResponse": lambda: sx.AssetCollectionResponse(
        assets=[asset()], total_entries=1
    ),
    "AssetEventResponse": asset_event,
    "AssetEventCollectionResponse": lambda: sx.AssetEventCollectionResponse(
        asset_events=[asset_event()], total_entries=1
    ),
    "JobCollectionResponse": lambda: sx.JobCollectionResponse(jobs=[job()], total_entries=1),
    "PluginCollectionResponse": lambda: sx.PluginCollectionResponse(
        plugins=[plugin()], total_entries=1
    ),
    "DAGVersionCollectionResponse": lambda: sx.DAGVersionCollectionResponse(
        dag_versions=[dag_version()], total_entries=1
    ),
}
BODIES = ["CreateAssetEventsBody", "DAGRunsBatchBody", "TaskInstancesBatchBody"]
NESTED = [
    "DagScheduleAssetReference", "TaskOutletAssetReference", "TaskInletAssetReference",
    "AssetAliasResponse", "AssetWatcherResponse", "LastAssetEventResponse",
    "DagRunAssetReference", "PluginResponse",
]  # fmt: skip


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_client_accepts_response(name: str) -> None:
    parsed = through_client(RESPONSES[name](), name)
    assert isinstance(parsed, getattr(client_models, name))


def test_client_reads_asset_and_event_values() -> None:
    parsed = through_client(asset(), "AssetResponse")
    assert parsed.producing_tasks[0].task_id == "w" and parsed.last_asset_event.id == 4
    event = through_client(asset_event(), "AssetEventResponse")
    assert event.created_dagruns[0].triggering is True and event.timestamp == T0


@pytest.fixture(scope="module")
def spec_schemas() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is 10x faster
    spec: dict[str, Any] = yaml.load(SPEC_PATH.read_text(), Loader=loader)  # noqa: S506
    return spec["components"]["schemas"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", sorted(set(RESPONSES) | set(BODIES) | set(NESTED)))
def test_model_matches_the_spec(name: str, spec_schemas: dict[str, Any]) -> None:
    mode = "validation" if name in BODIES else "serialization"
    ours = getattr(sx, name).model_json_schema(mode=mode, by_alias=True)
    assert shape(ours) == shape(spec_schemas[name])


BODY_CASES: list[tuple[str, dict[str, Any]]] = [
    ("CreateAssetEventsBody", {"asset_id": 3, "extra": {"rows": 10}}),
    ("DAGRunsBatchBody", {"dag_ids": ["a"], "states": ["failed"], "start_date_gte": T0}),
    ("DAGRunsBatchBody", {"page_limit": 5, "order_by": "-run_after"}),
    ("TaskInstancesBatchBody", {"dag_ids": ["a"], "state": ["success"], "pool": ["p"]}),
    ("TaskInstancesBatchBody", {"task_ids": ["t"], "duration_gte": 1.5, "page_offset": 2}),
]


@pytest.mark.parametrize(("name", "fields"), BODY_CASES)
def test_we_accept_what_the_client_sends(name: str, fields: dict[str, Any]) -> None:
    ours = getattr(sx, name).model_validate(client_body(name, fields))
    for key, value in fields.items():
        got = getattr(ours, key)
        if isinstance(got, list):
            got = [g.value if hasattr(g, "value") else g for g in got]
        assert got == value


def test_batch_body_groups_ranges_by_field() -> None:
    body = sx.TaskInstancesBatchBody(start_date_gte=T0, start_date_lt=T1, duration_gt=2.0)
    assert body.ranges() == {"start_date": {"gte": T0, "lt": T1}, "duration": {"gt": 2.0}}
