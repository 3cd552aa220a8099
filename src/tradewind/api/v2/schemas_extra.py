"""Models of the asset, job, plugin, DAG-version and batch-list endpoints of ``/api/v2``.

Kept apart from :mod:`tradewind.api.v2.schemas` (already long); the same rules apply: names,
required fields and nullability mirror Airflow 3's ``v2-rest-api-generated.yaml``.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field, JsonValue

from tradewind.api.v2.schemas import (
    BaseSchema,
    DagRunState,
    DagVersionResponse,
    JobResponse,
    StrictBaseSchema,
    TaskInstanceState,
)

# --------------------------------------------------------------------------- assets


class DagScheduleAssetReference(StrictBaseSchema):
    """A DAG scheduled on an asset."""

    dag_id: str
    created_at: AwareDatetime
    updated_at: AwareDatetime


class TaskOutletAssetReference(StrictBaseSchema):
    """A task that updates an asset (the asset is in its ``outlets``)."""

    dag_id: str
    task_id: str
    created_at: AwareDatetime
    updated_at: AwareDatetime


class TaskInletAssetReference(StrictBaseSchema):
    """A task that reads an asset (the asset is in its ``inlets``)."""

    dag_id: str
    task_id: str
    created_at: AwareDatetime
    updated_at: AwareDatetime


class AssetAliasResponse(BaseSchema):
    """An asset alias (Tradewind has none yet; the list is always empty)."""

    id: int
    name: str
    group: str


class AssetWatcherResponse(BaseSchema):
    """A trigger watching an asset (Tradewind has none yet)."""

    name: str
    trigger_id: int
    created_date: AwareDatetime


class LastAssetEventResponse(BaseSchema):
    """The newest event of an asset."""

    id: int | None = Field(default=None, ge=0)
    timestamp: AwareDatetime | None = None


class AssetResponse(BaseSchema):
    """An asset with the DAGs and tasks that produce and consume it."""

    id: int
    name: str
    uri: str
    group: str
    extra: dict[str, JsonValue] | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    scheduled_dags: list[DagScheduleAssetReference]
    producing_tasks: list[TaskOutletAssetReference]
    consuming_tasks: list[TaskInletAssetReference]
    aliases: list[AssetAliasResponse]
    watchers: list[AssetWatcherResponse]
    last_asset_event: LastAssetEventResponse | None = None


class AssetCollectionResponse(BaseSchema):
    """A page of assets."""

    assets: list[AssetResponse]
    total_entries: int


class DagRunAssetReference(StrictBaseSchema):
    """A DAG run that consumed an asset event."""

    run_id: str
    dag_id: str
    logical_date: AwareDatetime | None
    start_date: AwareDatetime
    end_date: AwareDatetime | None
    state: str
    data_interval_start: AwareDatetime | None
    data_interval_end: AwareDatetime | None
    partition_key: str | None
    triggering: bool


class AssetEventResponse(BaseSchema):
    """One update of an asset."""

    id: int
    asset_id: int
    uri: str | None = None
    name: str | None = None
    group: str | None = None
    extra: dict[str, JsonValue] | None = None
    source_task_id: str | None = None
    source_dag_id: str | None = None
    source_run_id: str | None = None
    source_map_index: int
    created_dagruns: list[DagRunAssetReference]
    timestamp: AwareDatetime
    partition_key: str | None = None


class AssetEventCollectionResponse(BaseSchema):
    """A page of asset events."""

    asset_events: list[AssetEventResponse]
    total_entries: int


class AssetEventAccessControl(StrictBaseSchema):
    """Airflow's team filter of an event's consumers (accepted, not used: no teams here)."""

    consumer_teams: list[str] | None = None
    allow_global: bool = True


class CreateAssetEventsBody(StrictBaseSchema):
    """``POST /assets/events``: record an update of an asset by hand."""

    asset_id: int
    partition_key: str | None = Field(default=None, max_length=250, pattern=r"\S")
    extra: dict[str, Any] = Field(default_factory=dict)
    access_control: AssetEventAccessControl | None = None


# --------------------------------------------------------------------------- jobs, plugins


class JobCollectionResponse(BaseSchema):
    """A page of jobs (schedulers, triggerers, DAG processors)."""

    jobs: list[JobResponse]
    total_entries: int


class PluginResponse(BaseSchema):
    """A loaded plugin; the web-UI extension lists are empty in Tradewind."""

    name: str
    macros: list[str]
    flask_blueprints: list[str]
    fastapi_apps: list[dict[str, Any]]
    fastapi_root_middlewares: list[dict[str, Any]]
    external_views: list[dict[str, Any]]
    react_apps: list[dict[str, Any]]
    appbuilder_views: list[dict[str, Any]]
    appbuilder_menu_items: list[dict[str, Any]]
    global_operator_extra_links: list[str]
    operator_extra_links: list[str]
    source: str
    listeners: list[str]
    timetables: list[str]


class PluginCollectionResponse(BaseSchema):
    """A page of plugins."""

    plugins: list[PluginResponse]
    total_entries: int


class DAGVersionCollectionResponse(BaseSchema):
    """A page of a DAG's stored versions."""

    dag_versions: list[DagVersionResponse]
    total_entries: int


# --------------------------------------------------------------------------- batch lists


class _BatchRanges(StrictBaseSchema):
    """Date and duration ranges shared by the batch list bodies."""

    run_after_gte: AwareDatetime | None = None
    run_after_gt: AwareDatetime | None = None
    run_after_lte: AwareDatetime | None = None
    run_after_lt: AwareDatetime | None = None
    logical_date_gte: AwareDatetime | None = None
    logical_date_gt: AwareDatetime | None = None
    logical_date_lte: AwareDatetime | None = None
    logical_date_lt: AwareDatetime | None = None
    start_date_gte: AwareDatetime | None = None
    start_date_gt: AwareDatetime | None = None
    start_date_lte: AwareDatetime | None = None
    start_date_lt: AwareDatetime | None = None
    end_date_gte: AwareDatetime | None = None
    end_date_gt: AwareDatetime | None = None
    end_date_lte: AwareDatetime | None = None
    end_date_lt: AwareDatetime | None = None
    duration_gte: float | None = None
    duration_gt: float | None = None
    duration_lte: float | None = None
    duration_lt: float | None = None

    def ranges(self) -> dict[str, dict[str, Any]]:
        """The given ``<field>_<op>`` bounds grouped by field: ``{"start_date": {"gte": t}}``."""
        out: dict[str, dict[str, Any]] = {}
        for name in _BatchRanges.model_fields:
            value = getattr(self, name)
            if value is not None:
                field, op = name.rsplit("_", 1)
                out.setdefault(field, {})[op] = value
        return out


class DAGRunsBatchBody(_BatchRanges):
    """``POST /dags/~/dagRuns/list``: runs of several DAGs."""

    order_by: str | None = None
    page_offset: int = Field(default=0, ge=0, le=2**62)
    page_limit: int = Field(default=100, ge=0, le=10_000)
    dag_ids: list[str] | None = None
    states: list[DagRunState | None] | None = None
    conf_contains: str | None = None


class TaskInstancesBatchBody(_BatchRanges):
    """``POST /dags/~/dagRuns/~/taskInstances/list``: task instances across DAGs and runs."""

    dag_ids: list[str] | None = None
    dag_run_ids: list[str] | None = None
    task_ids: list[str] | None = None
    state: list[TaskInstanceState | None] | None = None
    pool: list[str] | None = None
    queue: list[str] | None = None
    executor: list[str] | None = None
    page_offset: int = Field(default=0, ge=0, le=2**62)
    page_limit: int = Field(default=100, ge=0, le=10_000)
    order_by: str | None = None
