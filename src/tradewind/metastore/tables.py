"""Every table of the metastore (SQLAlchemy 2 declarative models).

Names follow Airflow's where a client could notice (``dag_run``, ``task_instance``, ``xcom``,
``slot_pool``...). Times are stored as timezone-aware UTC.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """A DateTime that always comes back timezone-aware UTC (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


ID = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    """Base of every table."""


class DagModel(Base):
    """One row per DAG id: what the scheduler and pages need without reading the JSON."""

    __tablename__ = "dag"
    dag_id: Mapped[str] = mapped_column(String(250), primary_key=True)
    is_paused: Mapped[bool] = mapped_column(Boolean, default=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    fileloc: Mapped[str] = mapped_column(String(2000), default="")
    relative_fileloc: Mapped[str] = mapped_column(String(2000), default="")
    owners: Mapped[str] = mapped_column(String(2000), default="")
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    display_name: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    timetable_summary: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    timetable_description: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    #: Airflow's ``timetable.type_name`` for this DAG's schedule (``GET /dags?timetable_type``).
    timetable_type: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_active_runs: Mapped[int] = mapped_column(Integer, default=16)
    max_active_tasks: Mapped[int] = mapped_column(Integer, default=16)
    max_consecutive_failed_dag_runs: Mapped[int] = mapped_column(Integer, default=0)
    has_import_errors: Mapped[bool] = mapped_column(Boolean, default=False)
    has_task_concurrency_limits: Mapped[bool] = mapped_column(Boolean, default=False)
    latest_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_parsed_time: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_parse_duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    next_dagrun: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    next_dagrun_data_interval_start: Mapped[datetime | None] = mapped_column(
        UtcDateTime, nullable=True
    )
    next_dagrun_data_interval_end: Mapped[datetime | None] = mapped_column(
        UtcDateTime, nullable=True
    )
    next_dagrun_create_after: Mapped[datetime | None] = mapped_column(
        UtcDateTime, nullable=True, index=True
    )
    asset_expression: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: The version for which the scheduler last computed ``next_dagrun*``; a new version (or
    #: an unpause, which resets it) makes the scheduler compute them again.
    timetable_checked_version: Mapped[str | None] = mapped_column(String(64), nullable=True)


class SerializedDagModel(Base):
    """Every version of every DAG's JSON; a run points at the version it ran."""

    __tablename__ = "serialized_dag"
    __table_args__ = (UniqueConstraint("dag_id", "version_hash", name="uq_serialized_dag_version"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    dag_id: Mapped[str] = mapped_column(String(250), index=True)
    version_hash: Mapped[str] = mapped_column(String(64))
    version_number: Mapped[int] = mapped_column(Integer, default=1)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    fileloc: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DagFile(Base):
    """Each file the DAG processor has seen, to re-parse only what changed."""

    __tablename__ = "dag_file"
    fileloc: Mapped[str] = mapped_column(String(2000), primary_key=True)
    mtime: Mapped[float] = mapped_column(Float, default=0.0)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    dag_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_parsed: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    parse_duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    source: Mapped[str | None] = mapped_column(Text, nullable=True)


class DagRun(Base):
    """One run of a DAG for a data interval."""

    __tablename__ = "dag_run"
    __table_args__ = (
        UniqueConstraint("dag_id", "run_id", name="uq_dag_run_run_id"),
        Index("ix_dag_run_state", "state"),
        Index("ix_dag_run_dag_logical", "dag_id", "logical_date"),
        # Newest runs of one DAG (DAGs page, grid) without sorting all of its runs.
        Index("ix_dag_run_dag_id_id", "dag_id", "id"),
        Index("ix_dag_run_dag_state", "dag_id", "state"),  # dagStats
        # The API's task-instance list by logical_date: runs in that order, then their TIs.
        Index("ix_dag_run_logical_date_id", "logical_date", "id"),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    dag_id: Mapped[str] = mapped_column(String(250))
    run_id: Mapped[str] = mapped_column(String(250))
    run_type: Mapped[str] = mapped_column(String(50))
    state: Mapped[str] = mapped_column(String(50))
    logical_date: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    data_interval_start: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    data_interval_end: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    run_after: Mapped[datetime] = mapped_column(UtcDateTime)
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    start_date: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    end_date: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    conf: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dag_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    backfill_id: Mapped[int | None] = mapped_column(ID, ForeignKey("backfill.id"), nullable=True)
    triggered_by: Mapped[str | None] = mapped_column(String(50), nullable=True)
    triggering_user: Mapped[str | None] = mapped_column(String(250), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_scheduling_decision: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    clear_number: Mapped[int] = mapped_column(Integer, default=0)
    #: Bumped by every change to the run's task instances; the scheduler re-examines a run
    #: when ``change_seq > seen_seq`` (a counter, so no event is lost between read and reset).
    change_seq: Mapped[int] = mapped_column(Integer, default=1)
    seen_seq: Mapped[int] = mapped_column(Integer, default=0)


class TaskInstance(Base):
    """One task in one DAG run; ``try_number`` counts the tries started so far."""

    __tablename__ = "task_instance"
    __table_args__ = (
        UniqueConstraint("dag_id", "run_id", "task_id", "map_index", name="uq_ti_key"),
        Index("ix_ti_dag_run_state", "dag_id", "run_id", "state"),
        Index("ix_ti_dag_task_state", "dag_id", "task_id", "state"),
        Index("ix_ti_next_retry", "state", "next_retry_at"),
        # Browse > task instances filtered by state, newest first, without sorting them all.
        Index("ix_ti_state_id", "state", "id"),
        # The API's task-instance lists in their default order (map_index, id), all or by
        # state, without sorting a million rows.
        Index("ix_ti_map_index_id", "map_index", "id"),
        Index("ix_ti_state_map_index_id", "state", "map_index", "id"),
        # ... and by start_date, end_date or duration, either direction (``id`` follows the
        # first term's; their NULLs are read by a second query, see paged_nulls_last).
        Index("ix_ti_start_date_id", "start_date", "id"),
        Index("ix_ti_end_date_id", "end_date", "id"),
        Index("ix_ti_duration_id", "duration", "id"),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    dag_id: Mapped[str] = mapped_column(String(250))
    run_id: Mapped[str] = mapped_column(String(250))
    task_id: Mapped[str] = mapped_column(String(250))
    map_index: Mapped[int] = mapped_column(Integer, default=-1)
    state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    try_number: Mapped[int] = mapped_column(Integer, default=0)
    max_tries: Mapped[int] = mapped_column(Integer, default=0)
    #: Tries lost since the last clear (Tradewind's own process went away): each was requeued
    #: without using a retry, up to ``[scheduler] max_lost_try_requeues``.
    lost_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: How often this task instance was queued (never reset): each queueing starts a *leg*
    #: (a deferred or rescheduled try resumes in a new leg with the same try number), and the
    #: leg's task token carries it, so an earlier leg's token is refused (#18).
    queue_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    start_date: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    end_date: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    queued_dttm: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    scheduled_dttm: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    pool: Mapped[str] = mapped_column(String(256), default="default_pool")
    pool_slots: Mapped[int] = mapped_column(Integer, default=1)
    queue: Mapped[str] = mapped_column(String(256), default="default")
    priority_weight: Mapped[int] = mapped_column(Integer, default=1)
    operator: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    hostname: Mapped[str] = mapped_column(String(1000), default="")
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    unixname: Mapped[str] = mapped_column(String(1000), default="")
    executor: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    queued_by_job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    next_retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    rendered_fields: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: The name ``map_index_template`` gave this instance of a mapped task.
    rendered_map_index: Mapped[str | None] = mapped_column(String(250), nullable=True)
    next_method: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    next_kwargs: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    trigger_id: Mapped[int | None] = mapped_column(ID, nullable=True, index=True)
    trigger_timeout: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    dag_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


# Queueing's candidates in their order (priority first, then oldest), read from the index
# with a LIMIT instead of sorting every scheduled task instance on each pass (#17).
Index(
    "ix_ti_queue_order",
    TaskInstance.state,
    TaskInstance.pool,
    TaskInstance.priority_weight.desc(),
    TaskInstance.scheduled_dttm,
    TaskInstance.id,
)


class TaskInstanceHistory(Base):
    """One row per finished try of a task instance (the tries' history)."""

    __tablename__ = "task_instance_history"
    __table_args__ = (
        Index("ix_tih_key", "dag_id", "run_id", "task_id", "map_index", "try_number"),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    ti_id: Mapped[int] = mapped_column(ID, index=True)
    dag_id: Mapped[str] = mapped_column(String(250))
    run_id: Mapped[str] = mapped_column(String(250))
    task_id: Mapped[str] = mapped_column(String(250))
    map_index: Mapped[int] = mapped_column(Integer, default=-1)
    try_number: Mapped[int] = mapped_column(Integer)
    max_tries: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    start_date: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    end_date: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    queued_dttm: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    pool: Mapped[str] = mapped_column(String(256), default="default_pool")
    pool_slots: Mapped[int] = mapped_column(Integer, default=1)
    queue: Mapped[str] = mapped_column(String(256), default="default")
    priority_weight: Mapped[int] = mapped_column(Integer, default=1)
    operator: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    hostname: Mapped[str] = mapped_column(String(1000), default="")
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    executor: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class XCom(Base):
    """A small JSON value a task pushed (``return_value`` or a named key)."""

    __tablename__ = "xcom"
    dag_id: Mapped[str] = mapped_column(String(250), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(250), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(250), primary_key=True)
    map_index: Mapped[int] = mapped_column(Integer, primary_key=True, default=-1)
    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime)


class ImportError_(Base):
    """A DAG file that failed to import: file, line and traceback."""

    __tablename__ = "import_error"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    filename: Mapped[str] = mapped_column(String(2000), index=True)
    lineno: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stacktrace: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime)
    bundle_name: Mapped[str] = mapped_column(String(250), default="dags-folder")


class EventLog(Base):
    """Who did what, when (the audit trail)."""

    __tablename__ = "log"
    __table_args__ = (Index("ix_log_dag_dttm", "dag_id", "dttm"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    dttm: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    event: Mapped[str] = mapped_column(String(60))
    owner: Mapped[str | None] = mapped_column(String(500), nullable=True)
    dag_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    map_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    try_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    logical_date: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    extra: Mapped[str | None] = mapped_column(Text, nullable=True)


class Variable(Base):
    """A key-value setting; values encrypted at rest with Fernet."""

    __tablename__ = "variable"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(250), unique=True)
    val: Mapped[str | None] = mapped_column(Text, nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    is_encrypted: Mapped[bool] = mapped_column(Boolean, default=False)


class Connection(Base):
    """Stored credentials for an external system; password and extra encrypted at rest."""

    __tablename__ = "connection"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    conn_id: Mapped[str] = mapped_column(String(250), unique=True)
    conn_type: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    host: Mapped[str | None] = mapped_column(String(500), nullable=True)
    schema: Mapped[str | None] = mapped_column(String(500), nullable=True)
    login: Mapped[str | None] = mapped_column(Text, nullable=True)
    password: Mapped[str | None] = mapped_column(Text, nullable=True)
    port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    extra: Mapped[str | None] = mapped_column(Text, nullable=True)
    is_encrypted: Mapped[bool] = mapped_column(Boolean, default=False)
    is_extra_encrypted: Mapped[bool] = mapped_column(Boolean, default=False)


class Pool(Base):
    """A named number of slots; tasks in the pool together use at most that many."""

    __tablename__ = "slot_pool"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    pool: Mapped[str] = mapped_column(String(256), unique=True)
    slots: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    include_deferred: Mapped[bool] = mapped_column(Boolean, default=False)


class User(Base):
    """A person who logs in to the web UI or the API; password hashed with argon2."""

    __tablename__ = "ab_user"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(512), unique=True)
    email: Mapped[str] = mapped_column(String(512), default="")
    first_name: Mapped[str] = mapped_column(String(256), default="")
    last_name: Mapped[str] = mapped_column(String(256), default="")
    password_hash: Mapped[str] = mapped_column(String(512))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_on: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_login: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    login_count: Mapped[int] = mapped_column(Integer, default=0)
    fail_login_count: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped on logout, password change and role change: a session cookie or API token
    # carrying an older version is refused (services/users.py: revoke_sessions).
    credential_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class LoginFailure(Base):
    """One failed login, kept for the sliding window of login throttling."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("idx_login_failure_user_client", "username", "client"),
        Index("idx_login_failure_client", "client"),
        Index("idx_login_failure_at", "at"),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(512))
    client: Mapped[str] = mapped_column(String(256), default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class Backfill(Base):
    """A backfill request: its range and options; its runs point back at it."""

    __tablename__ = "backfill"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    dag_id: Mapped[str] = mapped_column(String(250), index=True)
    from_date: Mapped[datetime] = mapped_column(UtcDateTime)
    to_date: Mapped[datetime] = mapped_column(UtcDateTime)
    dag_run_conf: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    reprocess_behavior: Mapped[str] = mapped_column(String(50), default="none")
    max_active_runs: Mapped[int] = mapped_column(Integer, default=10)
    run_backwards: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Job(Base):
    """A running component (scheduler, triggerer, dag processor) and its heartbeat."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_type_state", "job_type", "state"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    job_type: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(20))
    hostname: Mapped[str] = mapped_column(String(500), default="")
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    start_date: Mapped[datetime] = mapped_column(UtcDateTime)
    end_date: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    latest_heartbeat: Mapped[datetime] = mapped_column(UtcDateTime)


class Trigger(Base):
    """A deferred task's wait, run by the triggerer."""

    __tablename__ = "trigger"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    classpath: Mapped[str] = mapped_column(String(1000))
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_date: Mapped[datetime] = mapped_column(UtcDateTime)
    triggerer_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class TaskReschedule(Base):
    """Each reschedule of a reschedule-mode sensor (for its timeout from the first poke)."""

    __tablename__ = "task_reschedule"
    __table_args__ = (Index("ix_task_reschedule_ti", "ti_id", "try_number"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    ti_id: Mapped[int] = mapped_column(ID)
    try_number: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[datetime] = mapped_column(UtcDateTime)
    end_date: Mapped[datetime] = mapped_column(UtcDateTime)
    reschedule_date: Mapped[datetime] = mapped_column(UtcDateTime)


class AssetModel(Base):
    """An asset (a URI) known from some DAG's outlets or schedule."""

    __tablename__ = "asset"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    uri: Mapped[str] = mapped_column(String(1500), unique=True)
    name: Mapped[str] = mapped_column(String(1500), default="")
    group: Mapped[str] = mapped_column(String(1500), default="asset")
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AssetEvent(Base):
    """An update of an asset, emitted by a successful task with that asset in ``outlets``."""

    __tablename__ = "asset_event"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    asset_id: Mapped[int] = mapped_column(ID, index=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source_dag_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    source_task_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    source_run_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    source_map_index: Mapped[int] = mapped_column(Integer, default=-1)
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    #: the AssetAlias outlet the task added this asset through (``outlet_events[alias].add``)
    source_alias_name: Mapped[str | None] = mapped_column(String(1500), nullable=True)


class AssetDagQueue(Base):
    """Asset updates a consuming DAG has not yet run for (one row per DAG and asset)."""

    __tablename__ = "asset_dag_run_queue"
    asset_id: Mapped[int] = mapped_column(ID, primary_key=True)
    target_dag_id: Mapped[str] = mapped_column(String(250), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DagScheduleAssetReference(Base):
    """A DAG scheduled on an asset."""

    __tablename__ = "dag_schedule_asset_reference"
    asset_id: Mapped[int] = mapped_column(ID, primary_key=True)
    dag_id: Mapped[str] = mapped_column(String(250), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class KeyValue(Base):
    """Small settings of the installation itself (secret key, fernet key, schema facts)."""

    __tablename__ = "tradewind_meta"
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Deadline(Base):
    """A DAG run's deadline (Airflow 3.1's ``deadline``): missed once, alerted once.

    ``missed_at`` is set by a compare-and-set from NULL when a scheduler sees the run
    unfinished past ``deadline_time``; only that scheduler sends the callback.
    """

    __tablename__ = "deadline"
    __table_args__ = (
        UniqueConstraint("dag_id", "run_id", "alert_index", name="uq_deadline_run_alert"),
        Index("ix_deadline_pending", "missed", "deadline_time"),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    dag_id: Mapped[str] = mapped_column(String(250))
    run_id: Mapped[str] = mapped_column(String(250))
    alert_index: Mapped[int] = mapped_column(Integer, default=0)
    reference: Mapped[str] = mapped_column(String(50))
    interval: Mapped[float] = mapped_column(Float)
    callback: Mapped[str] = mapped_column(String(1000), default="")
    deadline_time: Mapped[datetime] = mapped_column(UtcDateTime)
    missed: Mapped[bool] = mapped_column(Boolean, default=False)
    missed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DagFavorite(Base):
    """A DAG a user marked as favorite (``POST /dags/{dag_id}/favorite``)."""

    __tablename__ = "dag_favorite"
    dag_id: Mapped[str] = mapped_column(String(250), primary_key=True)
    username: Mapped[str] = mapped_column(String(512), primary_key=True)


class StateStoreEntry(Base):
    """A key/value of Airflow 3.3's state store, owned by an asset (``kind="asset"``) or by a
    task instance (``kind="task"``); the owner columns of the other kind stay at defaults."""

    __tablename__ = "state_store"
    __table_args__ = (
        UniqueConstraint(
            "kind", "asset_id", "dag_id", "run_id", "task_id", "map_index", "key",
            name="uq_state_store_owner_key",
        ),
    )  # fmt: skip
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(10))
    asset_id: Mapped[int] = mapped_column(ID, default=0)
    dag_id: Mapped[str] = mapped_column(String(250), default="")
    run_id: Mapped[str] = mapped_column(String(250), default="")
    task_id: Mapped[str] = mapped_column(String(250), default="")
    map_index: Mapped[int] = mapped_column(Integer, default=-1)
    key: Mapped[str] = mapped_column(String(512))
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    updated_by: Mapped[str] = mapped_column(String(10), default="api")
