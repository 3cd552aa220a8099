"""The extra list filters of the 3.3 spec, as data: query parameter name -> ``Filter``.

A ``Filter`` turns a given value into a WHERE term (``condition``): ``*_pattern`` is
Airflow's case-insensitive substring, ``*_prefix_pattern`` a case-sensitive prefix, ranges
``*_gte/_gt/_lte/_lt``; a filter on something Tradewind does not record (``bundle_version``,
partitions, rendered map indexes) matches nothing when given, as Airflow's would on such rows
(NULL). The API declares each name as a query parameter (``api/v2/filters.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, false, func, not_, or_, select

from tradewind.metastore.tables import (
    AssetModel,
    DagModel,
    DagRun,
    DagScheduleAssetReference,
    EventLog,
    ImportError_,
    SerializedDagModel,
    TaskInstance,
    XCom,
)
from tradewind.services.queries.paging import WILDCARD, pattern_clause, prefix_clause

_OPS = {"gte": "__ge__", "gt": "__gt__", "lte": "__le__", "lt": "__lt__"}


@dataclass(frozen=True)
class Filter:
    """One query parameter: ``kind`` is pattern, prefix, number, bool, date, none, ints or strs."""

    kind: str
    column: Any = None
    #: Turns the given value into a condition itself (e.g. version numbers -> hashes).
    build: Callable[[Any], Any] | None = None


def condition(spec: Filter, name: str, value: Any, dialect: str) -> Any:
    """The WHERE term of ``name=value`` (None: no restriction)."""
    if spec.build is not None:
        return spec.build(value)
    if spec.kind == "pattern":
        return pattern_clause(spec.column, value)
    if spec.kind == "prefix":
        return prefix_clause(spec.column, value)
    if spec.kind == "none":
        return None if value in ("", WILDCARD) else false()
    if spec.kind in ("ints", "strs"):
        return spec.column.in_(value)
    column = spec.column(dialect) if callable(spec.column) else spec.column
    bound = _aware(value) if spec.kind == "date" else value
    return getattr(column, _OPS[name.rsplit("_", 1)[1]])(bound)


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def ranges(prefix: str, kind: str, column: Any) -> dict[str, Filter]:
    """``<prefix>_gte``, ``_gt``, ``_lte``, ``_lt`` on one column."""
    return {f"{prefix}_{op}": Filter(kind, column) for op in _OPS}


def seconds_between(start: Any, end: Any) -> Callable[[str], Any]:
    """``end - start`` in seconds, for the dialect (a run's duration)."""

    def expression(dialect: str) -> Any:
        if dialect == "sqlite":
            return (func.julianday(end) - func.julianday(start)) * 86400.0
        return func.extract("epoch", end - start)

    return expression


_Run, _Ti = DagRun, TaskInstance


def _versions(owner: Any) -> Any:
    """``owner.dag_version`` is one of the given version numbers of its DAG."""

    def build(numbers: list[int]) -> Any:
        hashes = select(SerializedDagModel.version_hash).where(
            SerializedDagModel.dag_id == owner.dag_id,
            SerializedDagModel.version_number.in_(numbers),
        )
        return owner.dag_version.in_(hashes)

    return build


def _consuming(pattern: str) -> Any:
    """Runs of DAGs scheduled on an asset whose URI or name matches ``pattern``."""
    return _Run.dag_id.in_(_scheduled_on(pattern))


def _scheduled_on(pattern: str) -> Any:
    """The ids of the DAGs scheduled on an asset whose URI or name matches ``pattern``."""
    match = or_(pattern_clause(AssetModel.uri, pattern), pattern_clause(AssetModel.name, pattern))
    return (
        select(DagScheduleAssetReference.dag_id)
        .join(AssetModel, AssetModel.id == DagScheduleAssetReference.asset_id)
        .where(match)
    )


# A DAG without an asset schedule stores JSON ``null`` (or SQL NULL) as its expression.
_NO_ASSET_SCHEDULE = func.coalesce(cast(DagModel.asset_expression, Text), "null") == "null"


def _one_bundle(name: str, column: Any) -> Any:
    """Every DAG is in the one bundle ``dags-folder``: all rows for that name, else none."""
    return column.is_not(None) if name == "dags-folder" else column.is_(None)


# A run's last change, as far as Tradewind records one (it keeps no ``updated_at``).
_RUN_UPDATED = func.coalesce(_Run.end_date, _Run.start_date, _Run.queued_at, _Run.run_after)

RUN_FILTERS: dict[str, Filter] = dict(
    dag_id_pattern=Filter("pattern", _Run.dag_id),
    dag_id_prefix_pattern=Filter("prefix", _Run.dag_id),
    run_id_prefix_pattern=Filter("prefix", _Run.run_id),
    triggering_user_name_pattern=Filter("pattern", _Run.triggering_user),
    triggering_user_name_prefix_pattern=Filter("prefix", _Run.triggering_user),
    dag_version=Filter("ints", build=_versions(_Run)),
    consuming_asset_pattern=Filter("pattern", build=_consuming),
    bundle_version=Filter("none"),
    partition_key_pattern=Filter("none"),
    partition_key_prefix_pattern=Filter("none"),
    partition_date_gte=Filter("none"),
    partition_date_lte=Filter("none"),
    **ranges("duration", "number", seconds_between(_Run.start_date, _Run.end_date)),
    **ranges("updated_at", "date", _RUN_UPDATED),
)

TI_FILTERS: dict[str, Filter] = dict(
    dag_id_prefix_pattern=Filter("prefix", _Ti.dag_id),
    run_id_prefix_pattern=Filter("prefix", _Ti.run_id),
    task_display_name_prefix_pattern=Filter("prefix", _Ti.task_id),
    operator_name_pattern=Filter("pattern", _Ti.operator),
    operator_name_prefix_pattern=Filter("prefix", _Ti.operator),
    pool_name_pattern=Filter("pattern", _Ti.pool),
    pool_name_prefix_pattern=Filter("prefix", _Ti.pool),
    queue_name_pattern=Filter("pattern", _Ti.queue),
    queue_name_prefix_pattern=Filter("prefix", _Ti.queue),
    task_group_id=Filter(
        "pattern", build=lambda group: _Ti.task_id.startswith(f"{group}.", autoescape=True)
    ),
    version_number=Filter("ints", build=_versions(_Ti)),
    rendered_map_index_pattern=Filter("pattern", _Ti.rendered_map_index),
    rendered_map_index_prefix_pattern=Filter("prefix", _Ti.rendered_map_index),
    **ranges("duration", "number", _Ti.duration),
    **ranges("updated_at", "date", _Ti.updated_at),
)


def _depending(pattern: str) -> Any:
    """DAGs scheduled on an asset whose URI or name matches ``pattern``."""
    return DagModel.dag_id.in_(_scheduled_on(pattern))


def _run_range(name: str) -> Any:
    """DAGs with a run whose start or end date is in the range."""
    field, op = name.removeprefix("dag_run_").rsplit("_", 1)
    column = getattr(_Run, field)
    compare = {"gte": column.__ge__, "gt": column.__gt__, "lte": column.__le__, "lt": column.__lt__}

    def build(value: Any) -> Any:
        return DagModel.dag_id.in_(select(_Run.dag_id).where(compare[op](_aware(value))))

    return build


DAG_FILTERS: dict[str, Filter] = dict(
    dag_display_name_prefix_pattern=Filter(
        "prefix", func.coalesce(DagModel.display_name, DagModel.dag_id)
    ),
    has_asset_schedule=Filter(
        "bool", build=lambda v: not_(_NO_ASSET_SCHEDULE) if v else _NO_ASSET_SCHEDULE
    ),
    bundle_name=Filter("pattern", build=lambda v: _one_bundle(v, DagModel.dag_id)),
    bundle_version=Filter("none"),
    dag_run_state=Filter(
        "strs",
        build=lambda states: DagModel.dag_id.in_(
            select(_Run.dag_id).where(_Run.state.in_(states))
        ),
    ),
    asset_dependency=Filter("pattern", build=_depending),
    # Airflow's ``timetable.type_name`` (``airflow.timetables.interval.CronDataIntervalTimetable``).
    timetable_type=Filter("strs", DagModel.timetable_type),
    **{
        name: Filter("date", build=_run_range(name))
        for name in (
            f"dag_run_{field}_{op}"
            for field in ("start_date", "end_date")
            for op in ("gte", "gt", "lte", "lt")
        )
    },
)  # fmt: skip


XCOM_FILTERS: dict[str, Filter] = dict(
    dag_display_name_pattern=Filter("pattern", XCom.dag_id),
    dag_display_name_prefix_pattern=Filter("prefix", XCom.dag_id),
    run_id_prefix_pattern=Filter("prefix", XCom.run_id),
    task_id_prefix_pattern=Filter("prefix", XCom.task_id),
    xcom_key_prefix_pattern=Filter("prefix", XCom.key),
    map_index_filter=Filter("ints", XCom.map_index),
    **ranges("logical_date", "date", DagRun.logical_date),
    **ranges("run_after", "date", DagRun.run_after),
)

EVENT_LOG_FILTERS: dict[str, Filter] = dict(
    dag_id_prefix_pattern=Filter("prefix", EventLog.dag_id),
    event_prefix_pattern=Filter("prefix", EventLog.event),
    owner_prefix_pattern=Filter("prefix", EventLog.owner),
    run_id_pattern=Filter("pattern", EventLog.run_id),
    run_id_prefix_pattern=Filter("prefix", EventLog.run_id),
    task_id_pattern=Filter("pattern", EventLog.task_id),
    task_id_prefix_pattern=Filter("prefix", EventLog.task_id),
)

IMPORT_ERROR_FILTERS: dict[str, Filter] = dict(
    filename_prefix_pattern=Filter("prefix", ImportError_.filename),
    bundle_name=Filter("pattern", build=lambda v: ImportError_.bundle_name == v),
)  # fmt: skip
