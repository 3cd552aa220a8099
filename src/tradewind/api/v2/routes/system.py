"""``/jobs``, ``/plugins`` and ``/dags/{dag_id}/dagVersions``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.api.v2 import convert
from tradewind.api.v2 import schemas as s
from tradewind.api.v2 import schemas_extra as sx
from tradewind.api.v2.params import Limit, Offset, OrderBy
from tradewind.core.permissions import Action, Resource
from tradewind.services import queries as q
from tradewind.services.dags import DagService
from tradewind.services.jobs import JobService
from tradewind.services.queries import system as sq

router = APIRouter()

ReadJob = Annotated[CurrentUser, permission(Resource.JOB, Action.READ)]
ReadPlugin = Annotated[CurrentUser, permission(Resource.PLUGIN, Action.READ)]
ReadDag = Annotated[CurrentUser, permission(Resource.DAG, Action.READ)]
Date = datetime | None
_OPS = ("gte", "gt", "lte", "lt")


@router.get("/jobs", response_model=sx.JobCollectionResponse, tags=["Job"])
def get_jobs(
    env: EnvDep,
    _user: ReadJob,
    is_alive: bool | None = None,
    start_date_gte: Date = None,
    start_date_gt: Date = None,
    start_date_lte: Date = None,
    start_date_lt: Date = None,
    end_date_gte: Date = None,
    end_date_gt: Date = None,
    end_date_lte: Date = None,
    end_date_lt: Date = None,
    limit: Limit = 50,
    offset: Offset = 0,
    order_by: OrderBy = None,
    job_state: str | None = None,
    job_type: str | None = None,
    hostname: str | None = None,
    executor_class: str | None = None,
) -> sx.JobCollectionResponse:
    """Scheduler, triggerer and DAG-processor jobs; ``is_alive``: heartbeat within the
    scheduler's health-check threshold."""
    given = {
        "start_date": (start_date_gte, start_date_gt, start_date_lte, start_date_lt),
        "end_date": (end_date_gte, end_date_gt, end_date_lte, end_date_lt),
    }
    ranges = {
        field: {op: convert.aware(v) for op, v in zip(_OPS, values, strict=True) if v}
        for field, values in given.items()
    }
    if executor_class is not None:
        # Jobs record no executor class, so Airflow's filter matches nothing here.
        return sx.JobCollectionResponse(jobs=[], total_entries=0)
    threshold = float(env.settings.get("scheduler", "scheduler_health_check_threshold"))
    where = sq.job_conditions(
        job_state=job_state,
        job_type=job_type,
        hostname=hostname,
        is_alive=is_alive,
        alive_after=sq.alive_after(env.now(), threshold),
        ranges=ranges,
    )
    paging = q.Paging(limit, offset, tuple(order_by or ("id",)))
    page = JobService(env).page(where, paging)
    jobs = [
        s.JobResponse(
            id=j.id,
            dag_id=None,
            state=j.state,
            job_type=j.job_type,
            start_date=convert.aware(j.start_date),
            end_date=convert.aware(j.end_date),
            latest_heartbeat=convert.aware(j.latest_heartbeat),
            executor_class=None,
            hostname=j.hostname,
            unixname=None,
            dag_display_name=None,
        )  # fmt: skip
        for j in page.items
    ]
    return sx.JobCollectionResponse(jobs=jobs, total_entries=page.total)


@router.get("/plugins", response_model=sx.PluginCollectionResponse, tags=["Plugin"])
def get_plugins(
    env: EnvDep, _user: ReadPlugin, limit: Limit = 50, offset: Offset = 0
) -> sx.PluginCollectionResponse:
    """The plugins loaded from the ``tradewind.plugins`` entry point and the plugins folder."""
    from tradewind.plugins_manager import load_plugins

    found = sorted(load_plugins(env.settings).plugins, key=lambda p: p.name)
    items = [
        sx.PluginResponse(
            name=p.name,
            macros=[m.__name__ for m in p.macros],
            flask_blueprints=[],
            fastapi_apps=[],
            fastapi_root_middlewares=[],
            external_views=[],
            react_apps=[],
            appbuilder_views=[],
            appbuilder_menu_items=[],
            global_operator_extra_links=[],
            operator_extra_links=[],
            source=p.source,
            listeners=[],
            timetables=[f"{t.__module__}.{t.__qualname__}" for t in p.timetables],
        )  # fmt: skip
        for p in found[offset : offset + limit]
    ]
    return sx.PluginCollectionResponse(plugins=items, total_entries=len(found))


@router.get(
    "/dags/{dag_id}/dagVersions",
    response_model=sx.DAGVersionCollectionResponse,
    tags=["DagVersion"],
)
def get_dag_versions(
    dag_id: str,
    env: EnvDep,
    _user: ReadDag,
    limit: Limit = 50,
    offset: Offset = 0,
    version_number: int | None = None,
    bundle_name: str | None = None,
    bundle_version: str | None = None,
    order_by: OrderBy = None,
) -> sx.DAGVersionCollectionResponse:
    """The stored versions of a DAG (a new one each time its parsed structure changes)."""
    paging = q.Paging(limit, offset, tuple(order_by or ("id",)))
    page, name = DagService(env).versions(dag_id, version_number, paging)
    if bundle_name not in (None, convert.BUNDLE) or bundle_version is not None:
        page = q.Page([], 0)  # every version comes from the one DAGs-folder bundle
    items = [convert.version_response(row, name) for row in page.items]
    return sx.DAGVersionCollectionResponse(dag_versions=items, total_entries=page.total)


@router.get(
    "/dags/{dag_id}/dagVersions/{version_number}",
    response_model=s.DagVersionResponse,
    tags=["DagVersion"],
)
def get_dag_version(
    dag_id: str, version_number: int, env: EnvDep, _user: ReadDag
) -> s.DagVersionResponse:
    """One stored version of a DAG."""
    row, name = DagService(env).version(dag_id, version_number)
    return convert.version_response(row, name)
