"""Response models of the smaller read endpoints: DAG stats and warnings, providers, plugin
import errors, task dependencies and extra links, asset aliases and queued asset events."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime

from tradewind.api.v2.schemas import BaseSchema, DagRunState
from tradewind.api.v2.schemas_extra import AssetAliasResponse


class DagStatsStateResponse(BaseSchema):
    """How many runs of a DAG are in one state."""

    state: DagRunState
    count: int


class DagStatsResponse(BaseSchema):
    """Run counts of one DAG, for every run state."""

    dag_id: str
    dag_display_name: str
    stats: list[DagStatsStateResponse]


class DagStatsCollectionResponse(BaseSchema):
    """Run counts per DAG."""

    dags: list[DagStatsResponse]
    total_entries: int


class DagWarningType(StrEnum):
    """Kinds of DAG warning (Airflow's names)."""

    ASSET_CONFLICT = "asset conflict"
    NONEXISTENT_POOL = "non-existent pool"
    RUNTIME_VARYING_VALUE = "runtime varying value"


class DAGWarningResponse(BaseSchema):
    """A problem with a DAG that does not stop it from loading."""

    dag_id: str
    warning_type: DagWarningType
    message: str
    timestamp: AwareDatetime
    dag_display_name: str


class DAGWarningCollectionResponse(BaseSchema):
    """DAG warnings, paged."""

    dag_warnings: list[DAGWarningResponse]
    total_entries: int


class ProviderResponse(BaseSchema):
    """A family of hooks and operators shipped together."""

    package_name: str
    description: str
    version: str
    documentation_url: str | None


class ProviderCollectionResponse(BaseSchema):
    """Providers, paged."""

    providers: list[ProviderResponse]
    total_entries: int


class PluginImportErrorResponse(BaseSchema):
    """A plugin that failed to load: where from, and why."""

    source: str
    error: str


class PluginImportErrorCollectionResponse(BaseSchema):
    """Every plugin import error."""

    import_errors: list[PluginImportErrorResponse]
    total_entries: int


class TaskDependencyResponse(BaseSchema):
    """A scheduling condition a task instance does not meet yet."""

    name: str
    reason: str


class TaskDependencyCollectionResponse(BaseSchema):
    """What keeps a task instance from being scheduled."""

    dependencies: list[TaskDependencyResponse]


class ExtraLinkCollectionResponse(BaseSchema):
    """A task instance's extra links: name -> URL (null when not available)."""

    extra_links: dict[str, str | None]
    total_entries: int


class AssetAliasCollectionResponse(BaseSchema):
    """Asset aliases, paged."""

    asset_aliases: list[AssetAliasResponse]
    total_entries: int


class QueuedEventResponse(BaseSchema):
    """An asset event waiting for a DAG that is scheduled on the asset."""

    dag_id: str
    asset_id: int
    created_at: AwareDatetime
    dag_display_name: str


class QueuedEventCollectionResponse(BaseSchema):
    """Queued asset events."""

    queued_events: list[QueuedEventResponse]
    total_entries: int
