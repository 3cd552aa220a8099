"""Request and response models of the Airflow-compatible REST API (/api/v2).

The class and field names, required fields, nullability and enums mirror Apache Airflow 3's
``v2-rest-api-generated.yaml`` (a copy lives in ``tests/api_spec/``), so the official
``apache-airflow-client`` accepts what we send and FastAPI's ``/openapi.json`` reads like
Airflow's. Responses serialize by alias (``schema``, ``__type``); datetimes must be timezone
aware. See ``docs/api-compat.md`` for the gotchas.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# --------------------------------------------------------------------------- bases and enums


class BaseSchema(BaseModel):
    """Base of response models: built from objects or dicts, dumped by alias."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True, serialize_by_alias=True)


class StrictBaseSchema(BaseModel):
    """Base of request bodies: unknown fields are rejected (``additionalProperties: false``)."""

    model_config = ConfigDict(
        extra="forbid", from_attributes=True, populate_by_name=True, serialize_by_alias=True
    )


class DagRunType(StrEnum):
    """How a DAG run was created."""

    BACKFILL = "backfill"
    SCHEDULED = "scheduled"
    MANUAL = "manual"
    OPERATOR_TRIGGERED = "operator_triggered"
    ASSET_TRIGGERED = "asset_triggered"
    ASSET_MATERIALIZATION = "asset_materialization"


class DagRunState(StrEnum):
    """State of a DAG run."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


class DagRunMutableStates(StrEnum):
    """States a user may set on a DAG run."""

    QUEUED = "queued"
    SUCCESS = "success"
    FAILED = "failed"


class DagRunTriggeredByType(StrEnum):
    """What triggered a DAG run."""

    CLI = "cli"
    OPERATOR = "operator"
    REST_API = "rest_api"
    UI = "ui"
    TEST = "test"
    TIMETABLE = "timetable"
    ASSET = "asset"
    BACKFILL = "backfill"


class TaskInstanceState(StrEnum):
    """State of a task instance (no state is ``null``)."""

    REMOVED = "removed"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    RESTARTING = "restarting"
    FAILED = "failed"
    UP_FOR_RETRY = "up_for_retry"
    UP_FOR_RESCHEDULE = "up_for_reschedule"
    UPSTREAM_FAILED = "upstream_failed"
    SKIPPED = "skipped"
    DEFERRED = "deferred"
    AWAITING_INPUT = "awaiting_input"


class ReprocessBehavior(StrEnum):
    """Which existing runs a backfill re-runs."""

    FAILED = "failed"
    COMPLETED = "completed"
    NONE = "none"


# --------------------------------------------------------------------------- errors


class HTTPExceptionResponse(BaseSchema):
    """Body of every 4xx/5xx answer other than 422: ``{"detail": ...}``."""

    detail: str | dict[str, Any]


class ValidationError(BaseSchema):
    """One problem found while validating a request."""

    loc: list[str | int] = Field(title="Location")
    msg: str = Field(title="Message")
    type: str = Field(title="Error Type")
    input: Any = None
    ctx: dict[str, Any] = Field(default_factory=dict, title="Context")


class HTTPValidationError(BaseSchema):
    """Body of a 422 answer (FastAPI's request validation error)."""

    detail: list[ValidationError] = Field(default_factory=list)


# --------------------------------------------------------------------------- DAGs and tasks


class DagTagResponse(BaseSchema):
    """A tag on a DAG."""

    name: str
    dag_id: str
    dag_display_name: str


class DagVersionResponse(BaseSchema):
    """One stored version of a DAG."""

    id: UUID
    version_number: int
    dag_id: str
    bundle_name: str | None
    bundle_version: str | None
    created_at: AwareDatetime
    dag_display_name: str
    bundle_url: str | None


class DAGResponse(BaseSchema):
    """A DAG as listed by ``GET /dags``."""

    dag_id: str
    dag_display_name: str
    is_paused: bool
    is_stale: bool
    last_parsed_time: AwareDatetime | None
    last_parse_duration: float | None
    last_expired: AwareDatetime | None
    bundle_name: str | None
    bundle_version: str | None
    relative_fileloc: str | None
    fileloc: str
    description: str | None
    timetable_summary: str | None
    timetable_description: str | None
    timetable_partitioned: bool
    timetable_periodic: bool
    tags: list[DagTagResponse]
    max_active_tasks: int
    max_active_runs: int | None
    max_consecutive_failed_dag_runs: int
    has_task_concurrency_limits: bool
    has_import_errors: bool
    next_dagrun_logical_date: AwareDatetime | None
    next_dagrun_data_interval_start: AwareDatetime | None
    next_dagrun_data_interval_end: AwareDatetime | None
    next_dagrun_run_after: AwareDatetime | None
    allowed_run_types: list[DagRunType] | None
    owners: list[str]
    # Airflow computes these two; the route fills them (file_token signs fileloc).
    is_backfillable: bool = Field(description="Whether this Dag's schedule supports backfilling.")
    file_token: str = Field(description="Return file token.")


class DAGDetailsResponse(DAGResponse):
    """A DAG with its details (``GET /dags/{dag_id}/details``)."""

    catchup: bool
    dag_run_timeout: timedelta | None
    asset_expression: dict[str, Any] | None
    doc_md: str | None
    start_date: AwareDatetime | None
    end_date: AwareDatetime | None
    is_paused_upon_creation: bool | None
    params: dict[str, Any] | None
    render_template_as_native_obj: bool
    template_search_path: list[str] | None
    timezone: str | None
    last_parsed: AwareDatetime | None
    default_args: dict[str, Any] | None
    rerun_with_latest_version: bool | None = None
    owner_links: dict[str, str] | None = None
    is_favorite: bool = False
    active_runs_count: int = 0
    concurrency: int = Field(description="Return max_active_tasks as concurrency.")
    latest_dag_version: DagVersionResponse | None


class DAGCollectionResponse(BaseSchema):
    """A page of DAGs."""

    dags: list[DAGResponse]
    total_entries: int


class DAGPatchBody(StrictBaseSchema):
    """Body of ``PATCH /dags`` and ``PATCH /dags/{dag_id}``: pause or unpause."""

    is_paused: bool


class TimeDelta(BaseSchema):
    """A ``datetime.timedelta`` as Airflow serializes it."""

    type_: str = Field(default="TimeDelta", alias="__type", title="Type")
    days: int
    seconds: int
    microseconds: int

    @classmethod
    def of(cls, value: timedelta) -> TimeDelta:
        """Build from a ``timedelta``."""
        return cls(days=value.days, seconds=value.seconds, microseconds=value.microseconds)


class TaskResponse(BaseSchema):
    """A task of a DAG, read from its serialized form."""

    task_id: str | None
    task_display_name: str | None
    owner: str | None
    start_date: AwareDatetime | None
    end_date: AwareDatetime | None
    trigger_rule: str | None
    depends_on_past: bool
    wait_for_downstream: bool
    retries: float | None
    queue: str | None
    pool: str | None
    pool_slots: float | None
    execution_timeout: TimeDelta | None
    retry_delay: TimeDelta | None
    retry_exponential_backoff: float
    priority_weight: float | None
    weight_rule: str | None
    ui_color: str | None
    ui_fgcolor: str | None
    template_fields: list[str] | None
    downstream_task_ids: list[str] | None
    doc_md: str | None
    operator_name: str | None
    params: dict[str, Any] | None
    class_ref: dict[str, Any] | None
    is_mapped: bool | None
    extra_links: list[str] = Field(description="Extract and return extra_links.")


class TaskCollectionResponse(BaseSchema):
    """All tasks of a DAG."""

    tasks: list[TaskResponse]
    total_entries: int


# --------------------------------------------------------------------------- DAG runs


class DAGRunResponse(BaseSchema):
    """A DAG run."""

    dag_run_id: str
    dag_id: str
    logical_date: AwareDatetime | None
    queued_at: AwareDatetime | None
    start_date: AwareDatetime | None
    end_date: AwareDatetime | None
    duration: float | None
    data_interval_start: AwareDatetime | None
    data_interval_end: AwareDatetime | None
    run_after: AwareDatetime
    last_scheduling_decision: AwareDatetime | None
    run_type: DagRunType
    state: DagRunState
    triggered_by: DagRunTriggeredByType | None
    triggering_user_name: str | None
    conf: dict[str, Any] | None
    note: str | None
    dag_versions: list[DagVersionResponse]
    bundle_version: str | None
    dag_display_name: str
    partition_key: str | None
    partition_date: AwareDatetime | None


class DAGRunCollectionResponse(BaseSchema):
    """A page of DAG runs (offset paging fills ``total_entries``)."""

    dag_runs: list[DAGRunResponse]
    total_entries: int | None = None
    total_entries_limit: int | None = None
    next_cursor: str | None = None
    previous_cursor: str | None = None


class TriggerDAGRunPostBody(StrictBaseSchema):
    """Body of ``POST /dags/{dag_id}/dagRuns``; ``logical_date`` must be present (may be null)."""

    dag_run_id: str | None = None
    data_interval_start: AwareDatetime | None = None
    data_interval_end: AwareDatetime | None = None
    logical_date: AwareDatetime | None
    run_after: AwareDatetime | None = None
    conf: dict[str, Any] | None = None
    note: str | None = None
    partition_key: str | None = None


class DAGRunPatchBody(StrictBaseSchema):
    """Body of ``PATCH /dags/{dag_id}/dagRuns/{dag_run_id}``."""

    state: DagRunMutableStates | None = None
    note: str | None = Field(default=None, max_length=1000)


class DAGRunClearBody(StrictBaseSchema):
    """Body of ``POST /dags/{dag_id}/dagRuns/{dag_run_id}/clear``."""

    dry_run: bool = True
    only_failed: bool = False
    only_new: bool = False
    run_on_latest_version: bool | None = None
    note: str | None = Field(default=None, max_length=1000)


# --------------------------------------------------------------------------- task instances


class TriggerResponse(BaseSchema):
    """The trigger a deferred task waits on."""

    id: int
    classpath: str
    kwargs: str
    created_date: AwareDatetime
    queue: str | None
    triggerer_id: int | None


class JobResponse(BaseSchema):
    """A scheduler/triggerer/dag-processor job."""

    id: int
    dag_id: str | None
    state: str | None
    job_type: str | None
    start_date: AwareDatetime | None
    end_date: AwareDatetime | None
    latest_heartbeat: AwareDatetime | None
    executor_class: str | None
    hostname: str | None
    unixname: str | None
    dag_display_name: str | None = None


class TaskInstanceHistoryResponse(BaseSchema):
    """One past (or the current) try of a task instance."""

    task_id: str
    dag_id: str
    dag_run_id: str
    map_index: int
    start_date: AwareDatetime | None
    end_date: AwareDatetime | None
    duration: float | None
    state: TaskInstanceState | None
    try_number: int
    max_tries: int
    task_display_name: str
    dag_display_name: str
    hostname: str | None
    unixname: str | None
    pool: str
    pool_slots: int
    queue: str | None
    priority_weight: int | None
    operator: str | None
    operator_name: str | None
    queued_when: AwareDatetime | None
    scheduled_when: AwareDatetime | None
    pid: int | None
    executor: str | None
    executor_config: str
    dag_version: DagVersionResponse | None


class TaskInstanceResponse(TaskInstanceHistoryResponse):
    """A task instance."""

    id: UUID
    logical_date: AwareDatetime | None
    run_after: AwareDatetime
    note: str | None
    rendered_map_index: str | None
    rendered_fields: dict[str, Any] = Field(default_factory=dict)
    trigger: TriggerResponse | None
    triggerer_job: JobResponse | None


class TaskInstanceCollectionResponse(BaseSchema):
    """A page of task instances."""

    task_instances: list[TaskInstanceResponse]
    total_entries: int | None = None
    total_entries_limit: int | None = None
    next_cursor: str | None = None
    previous_cursor: str | None = None


class TaskInstanceHistoryCollectionResponse(BaseSchema):
    """All tries of a task instance."""

    task_instances: list[TaskInstanceHistoryResponse]
    total_entries: int


class PatchTaskInstanceBody(StrictBaseSchema):
    """Body of ``PATCH .../taskInstances/{task_id}``: mark a state and/or set a note."""

    new_state: TaskInstanceState | None = None
    note: str | None = Field(default=None, max_length=1000)
    include_upstream: bool = False
    include_downstream: bool = False
    include_future: bool = False
    include_past: bool = False


class ClearTaskInstancesBody(StrictBaseSchema):
    """Body of ``POST /dags/{dag_id}/clearTaskInstances``."""

    dry_run: bool = True
    start_date: AwareDatetime | None = None
    end_date: AwareDatetime | None = None
    only_failed: bool = True
    only_running: bool = False
    reset_dag_runs: bool = True
    task_ids: list[str | tuple[str, int]] | None = Field(
        default=None,
        description="A list of `task_id` or [`task_id`, `map_index`]. If only the `task_id` "
        "is provided for a mapped task, all of its map indices will be targeted.",
    )
    dag_run_id: str | None = None
    include_upstream: bool = False
    include_downstream: bool = False
    include_future: bool = False
    include_past: bool = False
    run_on_latest_version: bool | None = None
    prevent_running_task: bool = False
    note: str | None = Field(default=None, max_length=1000)


class StructuredLogMessage(BaseSchema):
    """One log line: ``event`` is the message; any other key (level, logger...) passes through."""

    model_config = ConfigDict(extra="allow", serialize_by_alias=True)

    timestamp: AwareDatetime | None = None
    event: str


class TaskInstancesLogResponse(BaseSchema):
    """A chunk of a task log (``Accept: application/json``)."""

    content: list[StructuredLogMessage] | list[str]
    continuation_token: str | None


# --------------------------------------------------------------------------- XCom


class XComResponse(BaseSchema):
    """An XCom entry without its value."""

    key: str
    timestamp: AwareDatetime
    logical_date: AwareDatetime | None
    map_index: int
    task_id: str
    dag_id: str
    run_id: str
    dag_display_name: str
    task_display_name: str
    run_after: AwareDatetime


class XComResponseNative(XComResponse):
    """An XCom entry with its value as JSON."""

    value: Any


class XComCollectionResponse(BaseSchema):
    """A page of XCom entries."""

    xcom_entries: list[XComResponse]
    total_entries: int


# A path value meaning "all DAGs" / "all runs" / "all tasks" in list endpoints
# (e.g. ``GET /dags/~/dagRuns/~/taskInstances``).
WILDCARD = "~"


class ClearTaskInstanceCollectionResponse(BaseSchema):
    """What a dry-run clear of a DAG run would clear."""

    task_instances: list[TaskInstanceResponse]
    total_entries: int


# The admin and operations models live in their own module; routes use them from here.
from tradewind.api.v2.schemas_admin import (  # noqa: E402, F401 (re-exported)
    BackfillCollectionResponse,
    BackfillPostBody,
    BackfillResponse,
    BaseInfoResponse,
    Config,
    ConfigOption,
    ConfigSection,
    ConnectionBody,
    ConnectionCollectionResponse,
    ConnectionResponse,
    ConnectionTestResponse,
    DagProcessorInfoResponse,
    EventLogCollectionResponse,
    EventLogResponse,
    HealthInfoResponse,
    ImportErrorCollectionResponse,
    ImportErrorResponse,
    LoginBody,
    LoginResponse,
    PoolBody,
    PoolCollectionResponse,
    PoolPatchBody,
    PoolResponse,
    SchedulerInfoResponse,
    TriggererInfoResponse,
    VariableBody,
    VariableCollectionResponse,
    VariableResponse,
    VersionInfo,
)
