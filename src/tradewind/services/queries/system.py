"""Jobs (scheduler, triggerer, DAG processor heartbeats) and stored DAG versions."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.errors import NotFound
from tradewind.metastore.tables import Job, SerializedDagModel
from tradewind.services.queries.paging import Page, Paging, paged, range_clauses

JOB_ORDER = {
    "id": Job.id,
    "dag_id": Job.id,
    "state": Job.state,
    "job_type": Job.job_type,
    "start_date": Job.start_date,
    "end_date": Job.end_date,
    "latest_heartbeat": Job.latest_heartbeat,
    "executor_class": Job.id,
    "hostname": Job.hostname,
    "unixname": Job.id,
}
VERSION_ORDER = {
    "id": SerializedDagModel.id,
    "version_number": SerializedDagModel.version_number,
    "bundle_name": SerializedDagModel.id,
    "bundle_version": SerializedDagModel.id,
    "created_at": SerializedDagModel.created_at,
}


def job_conditions(
    *,
    job_state: str | None = None,
    job_type: str | None = None,
    hostname: str | None = None,
    alive_after: datetime | None = None,
    is_alive: bool | None = None,
    ranges: dict[str, dict[str, Any]] | None = None,
) -> list[Any]:
    """WHERE terms for jobs; alive means running with a heartbeat after ``alive_after``."""
    out: list[Any] = []
    for column, value in (
        (Job.state, job_state),
        (Job.job_type, job_type),
        (Job.hostname, hostname),
    ):
        if value is not None:
            out.append(column == value)
    if is_alive is not None and alive_after is not None:
        alive = (Job.state == "running") & (Job.latest_heartbeat > alive_after)
        out.append(alive if is_alive else ~alive)
    for field, bounds in (ranges or {}).items():
        out.extend(range_clauses(getattr(Job, field), **bounds))
    return out


def list_jobs(session: Session, conditions: list[Any], paging: Paging) -> Page[Job]:
    """A page of jobs."""
    return paged(session, select(Job), conditions, paging, JOB_ORDER, "id")


def live_jobs(
    session: Session,
    job_type: str,
    now: datetime,
    dead_after: float,
    *,
    hostname: str | None = None,
) -> list[Job]:
    """Jobs of ``job_type`` running with a recent heartbeat, newest first.

    A job on this host whose process is gone (kill -9) does not count, heartbeat or not.
    """
    from tradewind.services.queueing import process_alive

    query = select(Job).where(
        Job.job_type == job_type,
        Job.state == "running",
        Job.latest_heartbeat >= alive_after(now, dead_after),
    )
    if hostname is not None:
        query = query.where(Job.hostname == hostname)
    here = socket.gethostname()
    jobs = session.execute(query.order_by(Job.latest_heartbeat.desc())).scalars().all()
    return [j for j in jobs if j.hostname != here or process_alive(j.pid)]


def alive_after(now: datetime, threshold_seconds: float) -> datetime:
    """The oldest heartbeat that still counts as alive."""
    return now - timedelta(seconds=threshold_seconds)


def list_dag_versions(
    session: Session, dag_id: str, version_number: int | None, paging: Paging
) -> Page[SerializedDagModel]:
    """A page of a DAG's stored versions."""
    where: list[Any] = [SerializedDagModel.dag_id == dag_id]
    if version_number is not None:
        where.append(SerializedDagModel.version_number == version_number)
    query = select(SerializedDagModel)
    return paged(session, query, where, paging, VERSION_ORDER, "id")


def get_dag_version(session: Session, dag_id: str, version_number: int) -> SerializedDagModel:
    """One stored version of a DAG, or NotFound."""
    row = session.scalar(
        select(SerializedDagModel)
        .where(
            SerializedDagModel.dag_id == dag_id,
            SerializedDagModel.version_number == version_number,
        )
        .order_by(SerializedDagModel.id.desc())
        .limit(1)
    )
    if row is None:
        raise NotFound(
            f"The DagVersion with dag_id: `{dag_id}` and version_number: `{version_number}` "
            "was not found"
        )
    return row
