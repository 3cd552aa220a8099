"""Models of the admin and operations endpoints of ``/api/v2``: variables, connections,
pools, import errors, event logs, backfills, health, version, config and ``/auth/token``.

Same rules as :mod:`tradewind.api.v2.schemas` (which re-exports these): names, required
fields and nullability mirror Airflow 3's ``v2-rest-api-generated.yaml``.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field, JsonValue

from tradewind.api.v2.schemas import BaseSchema, ReprocessBehavior, StrictBaseSchema

# --------------------------------------------------------------------------- variables


class VariableResponse(BaseSchema):
    """A variable; ``value`` is a string (JSON values come back serialized)."""

    key: str
    value: str | None = None
    description: str | None
    is_encrypted: bool
    team_name: str | None


class VariableBody(StrictBaseSchema):
    """Body of ``POST /variables`` and ``PATCH /variables/{key}``."""

    key: str = Field(max_length=250)
    value: JsonValue
    description: str | None = None
    team_name: str | None = Field(default=None, max_length=50)


class VariableCollectionResponse(BaseSchema):
    """A page of variables."""

    variables: list[VariableResponse]
    total_entries: int


# --------------------------------------------------------------------------- connections


class ConnectionResponse(BaseSchema):
    """A connection; the password and secrets in ``extra`` come back masked."""

    connection_id: str
    conn_type: str
    description: str | None
    host: str | None
    login: str | None
    schema_: str | None = Field(alias="schema")
    port: int | None
    password: str | None
    extra: str | None
    team_name: str | None


class ConnectionBody(StrictBaseSchema):
    """Body of ``POST /connections``, ``PATCH /connections/{id}`` and ``/connections/test``."""

    connection_id: str = Field(max_length=200, pattern=r"^[\w.-]+$")
    conn_type: str
    description: str | None = None
    host: str | None = None
    login: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    port: int | None = None
    password: str | None = None
    extra: str | None = None
    team_name: str | None = Field(default=None, max_length=50)


class ConnectionCollectionResponse(BaseSchema):
    """A page of connections."""

    connections: list[ConnectionResponse]
    total_entries: int


class ConnectionTestResponse(BaseSchema):
    """Outcome of ``POST /connections/test``."""

    status: bool
    message: str


# --------------------------------------------------------------------------- pools


class PoolResponse(BaseSchema):
    """A pool and its slot usage."""

    name: str
    slots: int
    description: str | None = None
    include_deferred: bool
    occupied_slots: int
    running_slots: int
    queued_slots: int
    scheduled_slots: int
    open_slots: int
    deferred_slots: int
    team_name: str | None


class PoolBody(StrictBaseSchema):
    """Body of ``POST /pools``."""

    name: str = Field(max_length=256)
    slots: int = Field(ge=-1, description="Number of slots. Use -1 for unlimited.")
    description: str | None = None
    include_deferred: bool = False
    team_name: str | None = Field(default=None, max_length=50)


class PoolPatchBody(StrictBaseSchema):
    """Body of ``PATCH /pools/{pool_name}``: the pool's name travels as ``pool``."""

    pool: str | None = None
    slots: int | None = Field(default=None, ge=-1)
    description: str | None = None
    include_deferred: bool | None = None
    team_name: str | None = Field(default=None, max_length=50)


class PoolCollectionResponse(BaseSchema):
    """A page of pools."""

    pools: list[PoolResponse]
    total_entries: int


# --------------------------------------------------------------------------- audit


class ImportErrorResponse(BaseSchema):
    """A DAG file that failed to import."""

    import_error_id: int
    timestamp: AwareDatetime
    filename: str
    bundle_name: str | None
    stack_trace: str


class ImportErrorCollectionResponse(BaseSchema):
    """A page of import errors."""

    import_errors: list[ImportErrorResponse]
    total_entries: int


class EventLogResponse(BaseSchema):
    """One audit-log entry."""

    event_log_id: int
    when: AwareDatetime
    dag_id: str | None
    task_id: str | None
    run_id: str | None
    map_index: int | None
    try_number: int | None
    event: str
    logical_date: AwareDatetime | None
    owner: str | None
    extra: str | None
    dag_display_name: str | None = None
    task_display_name: str | None = None


class EventLogCollectionResponse(BaseSchema):
    """A page of audit-log entries."""

    event_logs: list[EventLogResponse]
    total_entries: int


# --------------------------------------------------------------------------- backfills


class BackfillResponse(BaseSchema):
    """A backfill."""

    id: int
    dag_id: str
    from_date: AwareDatetime
    to_date: AwareDatetime
    dag_run_conf: dict[str, Any] | None
    is_paused: bool
    reprocess_behavior: ReprocessBehavior
    max_active_runs: int
    created_at: AwareDatetime
    completed_at: AwareDatetime | None
    updated_at: AwareDatetime
    dag_display_name: str


class BackfillPostBody(StrictBaseSchema):
    """Body of ``POST /backfills``."""

    dag_id: str
    from_date: AwareDatetime
    to_date: AwareDatetime
    run_backwards: bool = False
    dag_run_conf: dict[str, Any] | None = None
    reprocess_behavior: ReprocessBehavior = ReprocessBehavior.NONE
    max_active_runs: int = 10
    run_on_latest_version: bool | None = None


class BackfillCollectionResponse(BaseSchema):
    """A page of backfills."""

    backfills: list[BackfillResponse]
    total_entries: int


# --------------------------------------------------------------------------- monitor, version, config


class BaseInfoResponse(BaseSchema):
    """Health of the metadatabase."""

    status: str | None


class SchedulerInfoResponse(BaseInfoResponse):
    """Health of the scheduler; the heartbeat is an ISO string, not a datetime."""

    latest_scheduler_heartbeat: str | None


class TriggererInfoResponse(BaseInfoResponse):
    """Health of the triggerer."""

    latest_triggerer_heartbeat: str | None


class DagProcessorInfoResponse(BaseInfoResponse):
    """Health of the dag processor."""

    latest_dag_processor_heartbeat: str | None


class HealthInfoResponse(BaseSchema):
    """Body of ``GET /monitor/health``; statuses are ``healthy``/``unhealthy`` or null."""

    metadatabase: BaseInfoResponse
    scheduler: SchedulerInfoResponse
    triggerer: TriggererInfoResponse
    dag_processor: DagProcessorInfoResponse | None = None


class VersionInfo(BaseSchema):
    """Body of ``GET /version``."""

    version: str
    git_version: str | None


class ConfigOption(StrictBaseSchema):
    """One configuration option; ``value`` may be a ``[value, source]`` pair."""

    key: str
    value: str | tuple[str, str]


class ConfigSection(StrictBaseSchema):
    """One configuration section."""

    name: str
    options: list[ConfigOption]


class Config(StrictBaseSchema):
    """Body of ``GET /config`` (JSON flavour)."""

    sections: list[ConfigSection]


# --------------------------------------------------------------------------- auth (simple auth manager)


class LoginBody(StrictBaseSchema):
    """Body of ``POST /auth/token``."""

    username: str
    password: str


class LoginResponse(BaseSchema):
    """Answer of ``POST /auth/token`` (201)."""

    access_token: str
