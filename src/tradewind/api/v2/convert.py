"""Build the API's response models from metastore rows and serialized DAGs.

Rows arrive from services (``tradewind.services``); this module only reads attributes, so
the API layer never imports the metastore.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, overload
from uuid import UUID

from itsdangerous import URLSafeSerializer

from tradewind.api.v2 import schemas as s

BUNDLE = "dags-folder"
_NOT_PERIODIC = {None, "", "None", "@once", "@continuous", "Asset", "asset"}


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: None) -> None: ...
@overload
def aware(value: Any) -> datetime | None: ...
def aware(value: Any) -> datetime | None:
    """A datetime (or ISO string) as aware UTC; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value  # type: ignore[no-any-return]


def version_uuid(version_hash: str) -> UUID:
    """A stable UUID for a DAG version (our versions are content hashes)."""
    digits = "".join(c for c in version_hash.lower() if c in "0123456789abcdef")
    return UUID(hex=(digits + "0" * 32)[:32])


def file_token(secret: str, fileloc: str) -> str:
    """Airflow's ``file_token``: the file location signed with the secret key."""
    return URLSafeSerializer(secret).dumps(fileloc)


def version_response(row: Any, display_name: str) -> s.DagVersionResponse:
    """A stored DAG version."""
    return s.DagVersionResponse(
        id=version_uuid(row.version_hash),
        version_number=row.version_number,
        dag_id=row.dag_id,
        bundle_name=BUNDLE,
        bundle_version=None,
        created_at=aware(row.created_at),
        dag_display_name=display_name,
        bundle_url=None,
    )


def _is_periodic(summary: str | None) -> bool:
    return summary not in _NOT_PERIODIC


def dag_fields(row: Any, secret: str) -> dict[str, Any]:
    """The ``DAGResponse`` fields of a ``dag`` row."""
    name = row.display_name or row.dag_id
    owners = [o.strip() for o in (row.owners or "").split(",") if o.strip()]
    periodic = _is_periodic(row.timetable_summary)
    return {
        "dag_id": row.dag_id,
        "dag_display_name": name,
        "is_paused": bool(row.is_paused),
        "is_stale": not row.is_active,
        "last_parsed_time": aware(row.last_parsed_time),
        "last_parse_duration": row.last_parse_duration,
        "last_expired": None,
        "bundle_name": BUNDLE,
        "bundle_version": None,
        "relative_fileloc": row.relative_fileloc or None,
        "fileloc": row.fileloc or "",
        "description": row.description,
        "timetable_summary": row.timetable_summary,
        "timetable_description": row.timetable_description,
        "timetable_partitioned": False,
        "timetable_periodic": periodic,
        "tags": [
            s.DagTagResponse(name=t, dag_id=row.dag_id, dag_display_name=name)
            for t in sorted(row.tags or [])
        ],
        "max_active_tasks": int(row.max_active_tasks),
        "max_active_runs": row.max_active_runs,
        "max_consecutive_failed_dag_runs": int(row.max_consecutive_failed_dag_runs or 0),
        "has_task_concurrency_limits": bool(row.has_task_concurrency_limits),
        "has_import_errors": bool(row.has_import_errors),
        "next_dagrun_logical_date": aware(row.next_dagrun),
        "next_dagrun_data_interval_start": aware(row.next_dagrun_data_interval_start),
        "next_dagrun_data_interval_end": aware(row.next_dagrun_data_interval_end),
        "next_dagrun_run_after": aware(row.next_dagrun_create_after),
        "allowed_run_types": None,
        "owners": owners,
        "is_backfillable": periodic,
        "file_token": file_token(secret, row.fileloc or ""),
    }


def dag_response(row: Any, secret: str) -> s.DAGResponse:
    """A DAG as listed."""
    return s.DAGResponse(**dag_fields(row, secret))


def dag_details(
    row: Any, sdag: Any, version: Any | None, active_runs: int, secret: str
) -> s.DAGDetailsResponse:
    """A DAG with details from its latest serialized version."""
    data = sdag.data
    fields = dag_fields(row, secret)
    timeout = data.get("dagrun_timeout")
    return s.DAGDetailsResponse(
        **fields,
        catchup=bool(data.get("catchup", False)),
        dag_run_timeout=timedelta(seconds=timeout) if timeout is not None else None,
        asset_expression=data.get("asset_condition"),
        doc_md=data.get("doc_md"),
        start_date=aware(data.get("start_date")),
        end_date=aware(data.get("end_date")),
        is_paused_upon_creation=data.get("is_paused_upon_creation"),
        params=data.get("params") or {},
        render_template_as_native_obj=bool(data.get("render_template_as_native_obj", False)),
        template_search_path=None,
        timezone="UTC",
        last_parsed=aware(row.last_parsed_time),
        default_args=None,
        owner_links=data.get("owner_links") or None,
        active_runs_count=active_runs,
        concurrency=int(row.max_active_tasks),
        latest_dag_version=version_response(version, fields["dag_display_name"])
        if version is not None
        else None,
    )


def _timedelta(seconds: float | None) -> s.TimeDelta | None:
    return s.TimeDelta.of(timedelta(seconds=seconds)) if seconds is not None else None


def task_response(task: Any) -> s.TaskResponse:
    """A task from its serialized form."""
    d = task.data
    return s.TaskResponse(
        task_id=d["task_id"],
        task_display_name=d.get("display_name") or d["task_id"],
        owner=d.get("owner"),
        start_date=aware(d.get("start_date")),
        end_date=aware(d.get("end_date")),
        trigger_rule=d.get("trigger_rule"),
        depends_on_past=bool(d.get("depends_on_past", False)),
        wait_for_downstream=bool(d.get("wait_for_downstream", False)),
        retries=d.get("retries"),
        queue=d.get("queue"),
        pool=d.get("pool"),
        pool_slots=d.get("pool_slots"),
        execution_timeout=_timedelta(d.get("execution_timeout")),
        retry_delay=_timedelta(d.get("retry_delay")),
        retry_exponential_backoff=float(d.get("retry_exponential_backoff") or 0),
        priority_weight=d.get("priority_weight"),
        weight_rule=d.get("weight_rule"),
        ui_color=d.get("ui_color"),
        ui_fgcolor=d.get("ui_fgcolor"),
        template_fields=list(d.get("template_fields") or []),
        downstream_task_ids=list(d.get("downstream") or []),
        doc_md=d.get("doc_md"),
        operator_name=d.get("operator"),
        params=d.get("params") if isinstance(d.get("params"), dict) else {},
        class_ref={"module_path": d.get("operator_module"), "class_name": d.get("operator")},
        is_mapped=bool(d.get("is_mapped", False)),
        extra_links=list(d.get("extra_links") or []),
    )


def _enum_or_none(enum: Any, value: str | None) -> Any:
    try:
        return enum(value) if value is not None else None
    except ValueError:
        return None


def run_response(
    run: Any, versions: dict[tuple[str, str], Any], names: dict[str, str]
) -> s.DAGRunResponse:
    """A DAG run; ``versions`` and ``names`` were fetched once for the whole page."""
    name = names.get(run.dag_id, run.dag_id)
    version = versions.get((run.dag_id, run.dag_version or ""))
    start, end = aware(run.start_date), aware(run.end_date)
    return s.DAGRunResponse(
        dag_run_id=run.run_id,
        dag_id=run.dag_id,
        logical_date=aware(run.logical_date),
        queued_at=aware(run.queued_at),
        start_date=start,
        end_date=end,
        duration=(end - start).total_seconds() if start and end else None,
        data_interval_start=aware(run.data_interval_start),
        data_interval_end=aware(run.data_interval_end),
        run_after=aware(run.run_after),
        last_scheduling_decision=aware(run.last_scheduling_decision),
        run_type=_enum_or_none(s.DagRunType, run.run_type) or s.DagRunType.MANUAL,
        state=s.DagRunState(run.state),
        triggered_by=_enum_or_none(s.DagRunTriggeredByType, run.triggered_by),
        triggering_user_name=run.triggering_user,
        conf=run.conf or {},
        note=run.note,
        dag_versions=[version_response(version, name)] if version is not None else [],
        bundle_version=None,
        dag_display_name=name,
        partition_key=None,
        partition_date=None,
    )


def _ti_common(ti: Any, name: str, version: Any | None) -> dict[str, Any]:
    start, end = aware(ti.start_date), aware(ti.end_date)
    duration = ti.duration
    if duration is None and start and end:
        duration = (end - start).total_seconds()
    return {
        "task_id": ti.task_id,
        "dag_id": ti.dag_id,
        "dag_run_id": ti.run_id,
        "map_index": ti.map_index,
        "start_date": start,
        "end_date": end,
        "duration": duration,
        "state": _enum_or_none(s.TaskInstanceState, ti.state),
        "max_tries": int(ti.max_tries or 0),
        "task_display_name": ti.task_id,
        "dag_display_name": name,
        "hostname": ti.hostname or None,
        "pool": ti.pool,
        "pool_slots": int(ti.pool_slots),
        "queue": ti.queue,
        "priority_weight": int(ti.priority_weight) if ti.priority_weight is not None else None,
        "operator": ti.operator,
        "operator_name": ti.operator,
        "queued_when": aware(ti.queued_dttm),
        "pid": ti.pid,
        "executor": ti.executor,
        "executor_config": "{}",
        "dag_version": version_response(version, name) if version is not None else None,
    }


def ti_response(
    ti: Any, run: Any, versions: dict[tuple[str, str], Any], names: dict[str, str]
) -> s.TaskInstanceResponse:
    """A task instance with its run's dates."""
    name = names.get(ti.dag_id, ti.dag_id)
    version = versions.get((ti.dag_id, ti.dag_version or ""))
    return s.TaskInstanceResponse(
        **_ti_common(ti, name, version),
        id=UUID(int=int(ti.id)),
        try_number=int(ti.try_number),
        unixname=ti.unixname or None,
        scheduled_when=aware(ti.scheduled_dttm),
        logical_date=aware(run.logical_date),
        run_after=aware(run.run_after),
        note=ti.note,
        rendered_map_index=getattr(ti, "rendered_map_index", None),
        rendered_fields=ti.rendered_fields or {},
        trigger=None,
        triggerer_job=None,
    )


def history_response(
    row: Any, name: str, version: Any | None, *, current: bool = False
) -> s.TaskInstanceHistoryResponse:
    """One try of a task instance (a history row, or the task instance itself)."""
    return s.TaskInstanceHistoryResponse(
        **_ti_common(row, name, version),
        try_number=int(row.try_number),
        unixname=(getattr(row, "unixname", "") or None),
        scheduled_when=aware(getattr(row, "scheduled_dttm", None)),
    )


def xcom_fields(row: Any, run: Any, names: dict[str, str]) -> dict[str, Any]:
    """The ``XComResponse`` fields of an XCom row."""
    return {
        "key": row.key,
        "timestamp": aware(row.timestamp),
        "logical_date": aware(run.logical_date),
        "map_index": row.map_index,
        "task_id": row.task_id,
        "dag_id": row.dag_id,
        "run_id": row.run_id,
        "dag_display_name": names.get(row.dag_id, row.dag_id),
        "task_display_name": row.task_id,
        "run_after": aware(run.run_after),
    }


def xcom_value(text: str) -> Any:
    """Decode a stored XCom value (JSON); a non-JSON legacy value comes back as text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def import_error_response(row: Any) -> s.ImportErrorResponse:
    """An import error."""
    return s.ImportErrorResponse(
        import_error_id=row.id,
        timestamp=aware(row.timestamp),
        filename=row.filename,
        bundle_name=row.bundle_name,
        stack_trace=row.stacktrace,
    )


def event_log_response(row: Any, names: dict[str, str]) -> s.EventLogResponse:
    """An audit-log entry."""
    return s.EventLogResponse(
        event_log_id=row.id,
        when=aware(row.dttm),
        dag_id=row.dag_id,
        task_id=row.task_id,
        run_id=row.run_id,
        map_index=row.map_index,
        try_number=row.try_number,
        event=row.event,
        logical_date=aware(row.logical_date),
        owner=row.owner,
        extra=row.extra,
        dag_display_name=names.get(row.dag_id) if row.dag_id else None,
        task_display_name=row.task_id,
    )


def backfill_response(row: Any, names: dict[str, str]) -> s.BackfillResponse:
    """A backfill."""
    return s.BackfillResponse(
        id=row.id,
        dag_id=row.dag_id,
        from_date=aware(row.from_date),
        to_date=aware(row.to_date),
        dag_run_conf=row.dag_run_conf or {},
        is_paused=bool(row.is_paused),
        reprocess_behavior=s.ReprocessBehavior(row.reprocess_behavior or "none"),
        max_active_runs=int(row.max_active_runs),
        created_at=aware(row.created_at),
        completed_at=aware(row.completed_at),
        updated_at=aware(row.updated_at or row.created_at),
        dag_display_name=names.get(row.dag_id, row.dag_id),
    )
