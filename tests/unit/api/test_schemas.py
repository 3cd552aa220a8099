"""The /api/v2 models produce what Airflow's spec and the official client accept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import yaml
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import to_jsonable_python

from tradewind.api.v2 import schemas as s
from tradewind.core.states import TaskInstanceState as CoreTIState

client_models = pytest.importorskip("airflow_client.client.models")
from airflow_client.client.api_client import ApiClient  # noqa: E402

SPEC_PATH = Path(__file__).parents[2] / "api_spec" / "v2-rest-api-generated.yaml"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5, microseconds=123456)
VERSION_ID = UUID("0195a1b2-0000-7000-8000-000000000001")
TI_ID = UUID("0195a1b2-0000-7000-8000-0000000000aa")

# --------------------------------------------------------------------------- sample builders


def dag_version() -> s.DagVersionResponse:
    return s.DagVersionResponse(
        id=VERSION_ID, version_number=1, dag_id="etl", bundle_name="dags-folder",
        bundle_version=None, created_at=T0, dag_display_name="etl", bundle_url=None,
    )  # fmt: skip


def dag_fields() -> dict[str, Any]:
    return dict(
        dag_id="etl", dag_display_name="ETL", is_paused=False, is_stale=False,
        last_parsed_time=T0, last_parse_duration=0.25, last_expired=None,
        bundle_name="dags-folder", bundle_version=None, relative_fileloc="etl.py",
        fileloc="/dags/etl.py", description=None, timetable_summary="@daily",
        timetable_description="At 00:00", timetable_partitioned=False, timetable_periodic=True,
        tags=[s.DagTagResponse(name="prod", dag_id="etl", dag_display_name="ETL")],
        max_active_tasks=16, max_active_runs=1, max_consecutive_failed_dag_runs=0,
        has_task_concurrency_limits=False, has_import_errors=False,
        next_dagrun_logical_date=T1, next_dagrun_data_interval_start=T0,
        next_dagrun_data_interval_end=T1, next_dagrun_run_after=T1,
        allowed_run_types=None, owners=["airflow"], is_backfillable=True, file_token="tok",
    )  # fmt: skip


def dag_details() -> s.DAGDetailsResponse:
    return s.DAGDetailsResponse(
        **dag_fields(), catchup=False, dag_run_timeout=timedelta(hours=1),
        asset_expression=None, doc_md="# ETL", start_date=T0, end_date=None,
        is_paused_upon_creation=None, params={"x": {"value": 1}},
        render_template_as_native_obj=False, template_search_path=None, timezone="UTC",
        last_parsed=T0, default_args={"retries": 2}, concurrency=16,
        latest_dag_version=dag_version(),
    )  # fmt: skip


def task() -> s.TaskResponse:
    return s.TaskResponse(
        task_id="extract", task_display_name="extract", owner="airflow", start_date=T0,
        end_date=None, trigger_rule="all_success", depends_on_past=False,
        wait_for_downstream=False, retries=2, queue="default", pool="default_pool",
        pool_slots=1, execution_timeout=None, retry_delay=s.TimeDelta.of(timedelta(minutes=5)),
        retry_exponential_backoff=0, priority_weight=1, weight_rule="downstream",
        ui_color="#fff", ui_fgcolor="#000", template_fields=["bash_command"],
        downstream_task_ids=["load"], doc_md=None, operator_name="BashOperator", params={},
        class_ref={"module_path": "tradewind.operators.bash", "class_name": "BashOperator"},
        is_mapped=False, extra_links=[],
    )  # fmt: skip


def dag_run() -> s.DAGRunResponse:
    return s.DAGRunResponse(
        dag_run_id="manual__2025-03-01T12:00:00+00:00", dag_id="etl", logical_date=T0,
        queued_at=T0, start_date=T0, end_date=T1, duration=300.123456, data_interval_start=T0,
        data_interval_end=T0, run_after=T0, last_scheduling_decision=T1, run_type="manual",
        state="success", triggered_by="rest_api", triggering_user_name="admin",
        conf={"a": 1}, note=None, dag_versions=[dag_version()], bundle_version=None,
        dag_display_name="ETL", partition_key=None, partition_date=None,
    )  # fmt: skip


def ti_history_fields() -> dict[str, Any]:
    return dict(
        task_id="extract", dag_id="etl", dag_run_id="manual__1", map_index=-1, start_date=T0,
        end_date=T1, duration=300.1, state=CoreTIState.SUCCESS, try_number=1, max_tries=2,
        task_display_name="extract", dag_display_name="ETL", hostname="host1",
        unixname="airflow", pool="default_pool", pool_slots=1, queue="default",
        priority_weight=1, operator="BashOperator", operator_name="BashOperator",
        queued_when=T0, scheduled_when=T0, pid=4242, executor=None, executor_config="{}",
        dag_version=dag_version(),
    )  # fmt: skip


def task_instance() -> s.TaskInstanceResponse:
    trigger = s.TriggerResponse(
        id=1, classpath="tradewind.triggers.temporal.DateTimeTrigger", kwargs="{}",
        created_date=T0, queue=None, triggerer_id=None,
    )  # fmt: skip
    return s.TaskInstanceResponse(
        **ti_history_fields(), id=TI_ID, logical_date=T0, run_after=T0, note="ok",
        rendered_map_index=None, rendered_fields={"bash_command": "echo 1"},
        trigger=trigger, triggerer_job=None,
    )  # fmt: skip


def xcom_fields() -> dict[str, Any]:
    return dict(
        key="return_value", timestamp=T1, logical_date=T0, map_index=-1, task_id="extract",
        dag_id="etl", run_id="manual__1", dag_display_name="ETL",
        task_display_name="extract", run_after=T0,
    )  # fmt: skip


def connection() -> s.ConnectionResponse:
    return s.ConnectionResponse(
        connection_id="pg", conn_type="postgres", description=None, host="127.0.0.1",
        login="postgres", schema="test", port=5432, password="***", extra='{"sslmode": "off"}',
        team_name=None,
    )  # fmt: skip


def pool() -> s.PoolResponse:
    return s.PoolResponse(
        name="default_pool", slots=128, description="Default pool", include_deferred=False,
        occupied_slots=2, running_slots=1, queued_slots=1, scheduled_slots=0, open_slots=126,
        deferred_slots=0, team_name=None,
    )  # fmt: skip


def event_log() -> s.EventLogResponse:
    return s.EventLogResponse(
        event_log_id=7, when=T0, dag_id="etl", task_id=None, run_id=None, map_index=None,
        try_number=None, event="paused", logical_date=None, owner="admin",
        extra='{"is_paused": true}',
    )  # fmt: skip


def backfill() -> s.BackfillResponse:
    return s.BackfillResponse(
        id=3, dag_id="etl", from_date=T0, to_date=T1, dag_run_conf={}, is_paused=False,
        reprocess_behavior="failed", max_active_runs=10, created_at=T0, completed_at=None,
        updated_at=T1, dag_display_name="ETL",
    )  # fmt: skip


def health() -> s.HealthInfoResponse:
    return s.HealthInfoResponse(
        metadatabase=s.BaseInfoResponse(status="healthy"),
        scheduler=s.SchedulerInfoResponse(
            status="healthy", latest_scheduler_heartbeat=T0.isoformat()
        ),
        triggerer=s.TriggererInfoResponse(status=None, latest_triggerer_heartbeat=None),
        dag_processor=s.DagProcessorInfoResponse(
            status="healthy", latest_dag_processor_heartbeat=T0.isoformat()
        ),
    )


def variable() -> s.VariableResponse:
    return s.VariableResponse(
        key="env", value='{"a": 1}', description=None, is_encrypted=True, team_name=None
    )


def import_error() -> s.ImportErrorResponse:
    return s.ImportErrorResponse(
        import_error_id=1, timestamp=T0, filename="/dags/broken.py", bundle_name="dags-folder",
        stack_trace="SyntaxError: invalid syntax (broken.py, line 3)",
    )  # fmt: skip


def log_chunk() -> s.TaskInstancesLogResponse:
    lines = [
        s.StructuredLogMessage(event="::group::Log message source details"),
        s.StructuredLogMessage.model_validate(
            {"event": "Hello", "timestamp": T0, "level": "info", "logger": "task"}
        ),
    ]
    return s.TaskInstancesLogResponse(content=lines, continuation_token="abc")


def config() -> s.Config:
    options = [
        s.ConfigOption(key="dags_folder", value="/dags"),
        s.ConfigOption(key="parallelism", value=("32", "default")),
    ]
    return s.Config(sections=[s.ConfigSection(name="core", options=options)])


RESPONSES: dict[str, Any] = {
    "DAGResponse": lambda: s.DAGResponse(**dag_fields()),
    "DAGCollectionResponse": lambda: s.DAGCollectionResponse(
        dags=[s.DAGResponse(**dag_fields())], total_entries=1
    ),
    "DAGDetailsResponse": dag_details,
    "TaskResponse": task,
    "TaskCollectionResponse": lambda: s.TaskCollectionResponse(tasks=[task()], total_entries=1),
    "DAGRunResponse": dag_run,
    "DAGRunCollectionResponse": lambda: s.DAGRunCollectionResponse(
        dag_runs=[dag_run()], total_entries=1
    ),
    "TaskInstanceResponse": task_instance,
    "TaskInstanceCollectionResponse": lambda: s.TaskInstanceCollectionResponse(
        task_instances=[task_instance()], total_entries=1
    ),
    "TaskInstanceHistoryResponse": lambda: s.TaskInstanceHistoryResponse(**ti_history_fields()),
    "TaskInstanceHistoryCollectionResponse": lambda: s.TaskInstanceHistoryCollectionResponse(
        task_instances=[s.TaskInstanceHistoryResponse(**ti_history_fields())], total_entries=1
    ),
    "TaskInstancesLogResponse": log_chunk,
    "XComResponse": lambda: s.XComResponse(**xcom_fields()),
    "XComResponseNative": lambda: s.XComResponseNative(**xcom_fields(), value={"rows": [1, 2]}),
    "XComCollectionResponse": lambda: s.XComCollectionResponse(
        xcom_entries=[s.XComResponse(**xcom_fields())], total_entries=1
    ),
    "VariableResponse": variable,
    "VariableCollectionResponse": lambda: s.VariableCollectionResponse(
        variables=[variable()], total_entries=1
    ),
    "ConnectionResponse": connection,
    "ConnectionCollectionResponse": lambda: s.ConnectionCollectionResponse(
        connections=[connection()], total_entries=1
    ),
    "ConnectionTestResponse": lambda: s.ConnectionTestResponse(status=True, message="ok"),
    "PoolResponse": pool,
    "PoolCollectionResponse": lambda: s.PoolCollectionResponse(pools=[pool()], total_entries=1),
    "ImportErrorResponse": import_error,
    "ImportErrorCollectionResponse": lambda: s.ImportErrorCollectionResponse(
        import_errors=[import_error()], total_entries=1
    ),
    "EventLogResponse": event_log,
    "EventLogCollectionResponse": lambda: s.EventLogCollectionResponse(
        event_logs=[event_log()], total_entries=1
    ),
    "BackfillResponse": backfill,
    "BackfillCollectionResponse": lambda: s.BackfillCollectionResponse(
        backfills=[backfill()], total_entries=1
    ),
    "HealthInfoResponse": health,
    "VersionInfo": lambda: s.VersionInfo(version="3.0.0", git_version=None),
    "Config": config,
    "HTTPExceptionResponse": lambda: s.HTTPExceptionResponse(detail="The Dag was not found"),
    "HTTPValidationError": lambda: s.HTTPValidationError(
        detail=[s.ValidationError(loc=["body", "is_paused"], msg="Field required", type="missing")]
    ),
}

BODIES = [
    "DAGPatchBody", "TriggerDAGRunPostBody", "DAGRunPatchBody", "DAGRunClearBody",
    "PatchTaskInstanceBody", "ClearTaskInstancesBody", "VariableBody", "ConnectionBody",
    "PoolBody", "PoolPatchBody", "BackfillPostBody",
]  # fmt: skip

# --------------------------------------------------------------------------- client round trip


def through_client(model: BaseModel, name: str) -> Any:
    """Send the model's JSON through the client's own response deserializer."""
    text = json.dumps(model.model_dump(mode="json"))
    return ApiClient().deserialize(text, name, "application/json")


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_client_accepts_response(name: str) -> None:
    model = RESPONSES[name]()
    parsed = through_client(model, name)
    assert isinstance(parsed, getattr(client_models, name))
    ours = model.model_dump(mode="json")
    theirs = to_jsonable_python(parsed.to_dict())
    for key, value in ours.items():
        if isinstance(value, str | int | bool) and key in theirs:
            assert theirs[key] == value, key


def test_client_reads_key_values_back() -> None:
    run = through_client(dag_run(), "DAGRunResponse")
    assert run.logical_date == T0 and run.end_date == T1
    assert run.state.value == "success" and run.dag_versions[0].id == VERSION_ID
    details = through_client(dag_details(), "DAGDetailsResponse")
    assert details.dag_run_timeout == "PT1H"
    ti = through_client(task_instance(), "TaskInstanceResponse")
    assert ti.id == TI_ID and ti.state.value == "success" and ti.try_number == 1
    log = through_client(log_chunk(), "TaskInstancesLogResponse")
    line = log.content.actual_instance[1]
    assert line.event == "Hello" and line.timestamp == T0
    # Extra keys travel on the wire; the client's anyOf wrapper drops them (docs/api-compat.md).
    assert log_chunk().model_dump(mode="json")["content"][1]["level"] == "info"
    conn = through_client(connection(), "ConnectionResponse")
    assert conn.var_schema == "test"
    td = through_client(task(), "TaskResponse").retry_delay
    assert (td.days, td.seconds) == (0, 300)


def test_client_rejects_a_float_where_spec_says_integer() -> None:
    # The client's models are strict: an int column read as float breaks it.
    data = pool().model_dump(mode="json") | {"slots": 128.0}
    with pytest.raises(PydanticValidationError):
        client_models.PoolResponse.from_dict(data)


def test_naive_datetimes_are_refused() -> None:
    # A naive datetime would go out without an offset; the API only speaks aware UTC.
    with pytest.raises(PydanticValidationError):
        s.VersionInfo.model_validate({"version": "1", "git_version": None})
        s.DAGRunPatchBody.model_validate({"note": "x"})
        s.BackfillPostBody(dag_id="etl", from_date=datetime(2025, 1, 1), to_date=T1)


# --------------------------------------------------------------------------- client bodies


def client_body(model_name: str, fields: dict[str, Any]) -> dict[str, Any]:
    """What the client puts on the wire for a body model built with ``fields``."""
    body = getattr(client_models, model_name)(**fields)
    wire: dict[str, Any] = ApiClient().sanitize_for_serialization(body)
    return wire


BODY_CASES: list[tuple[str, dict[str, Any]]] = [
    ("DAGPatchBody", {"is_paused": True}),
    ("TriggerDAGRunPostBody", {"logical_date": T0, "conf": {"a": 1}, "dag_run_id": "r1"}),
    ("TriggerDAGRunPostBody", {"logical_date": None}),
    ("DAGRunPatchBody", {"state": "failed", "note": "bad data"}),
    ("DAGRunClearBody", {"dry_run": False, "only_failed": True}),
    ("PatchTaskInstanceBody", {"new_state": "success", "include_downstream": True}),
    ("ClearTaskInstancesBody", {"dry_run": False, "only_failed": True, "dag_run_id": "r1"}),
    ("VariableBody", {"key": "env", "value": {"a": [1, 2]}, "description": "d"}),
    ("ConnectionBody", {"connection_id": "pg", "conn_type": "postgres", "var_schema": "db"}),
    ("PoolBody", {"name": "p", "slots": 4}),
    ("PoolPatchBody", {"pool": "p", "slots": 8}),
    ("BackfillPostBody", {"dag_id": "etl", "from_date": T0, "to_date": T1}),
]


@pytest.mark.parametrize(("name", "fields"), BODY_CASES)
def test_we_accept_what_the_client_sends(name: str, fields: dict[str, Any]) -> None:
    wire = client_body(name, fields)
    ours = getattr(s, name).model_validate(wire)
    for key, value in fields.items():
        attr = "schema_" if key == "var_schema" else key
        got = getattr(ours, attr)
        assert (got.value if hasattr(got, "value") else got) == value


def test_clear_task_ids_accept_task_and_map_index_pairs() -> None:
    inner = client_models.ClearTaskInstancesBodyTaskIdsInner
    wire = client_body("ClearTaskInstancesBody", {"task_ids": [inner("a"), inner(["b", 2])]})
    body = s.ClearTaskInstancesBody.model_validate(wire)
    assert body.task_ids == ["a", ("b", 2)]


def test_bodies_reject_unknown_fields() -> None:
    with pytest.raises(PydanticValidationError):
        s.DAGPatchBody.model_validate({"is_paused": True, "bogus": 1})


def test_trigger_body_needs_logical_date_key() -> None:
    with pytest.raises(PydanticValidationError):
        s.TriggerDAGRunPostBody.model_validate({"conf": {}})


# --------------------------------------------------------------------------- spec fidelity


@pytest.fixture(scope="module")
def spec_schemas() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
    return spec["components"]["schemas"]  # type: ignore[no-any-return]


def nullable(prop: dict[str, Any]) -> bool:
    return any(alt.get("type") == "null" for alt in prop.get("anyOf", []))


def shape(schema: dict[str, Any]) -> dict[str, tuple[bool, bool]]:
    """Property -> (required, nullable)."""
    required = set(schema.get("required", []))
    props = schema.get("properties", {})
    return {name: (name in required, nullable(p)) for name, p in props.items()}


@pytest.mark.parametrize("name", sorted(set(RESPONSES) | set(BODIES)))
def test_model_matches_the_spec(name: str, spec_schemas: dict[str, Any]) -> None:
    mode = "validation" if name in BODIES else "serialization"
    ours = getattr(s, name).model_json_schema(mode=mode, by_alias=True)
    assert shape(ours) == shape(spec_schemas[name])


@pytest.mark.parametrize(
    "enum",
    [s.DagRunType, s.DagRunState, s.DagRunMutableStates, s.DagRunTriggeredByType,
     s.TaskInstanceState, s.ReprocessBehavior],
)  # fmt: skip
def test_enum_values_match_the_spec(enum: type[Any], spec_schemas: dict[str, Any]) -> None:
    assert [m.value for m in enum] == spec_schemas[enum.__name__]["enum"]


def test_core_states_fit_the_api_enum() -> None:
    assert {st.value for st in CoreTIState} <= {st.value for st in s.TaskInstanceState}
