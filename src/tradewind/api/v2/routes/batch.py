"""The batch list endpoints: ``POST /dags/~/dagRuns/list`` and
``POST /dags/~/dagRuns/~/taskInstances/list`` (filters in a JSON body, ``~`` required)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.api.v2 import schemas as s
from tradewind.api.v2 import schemas_extra as sx
from tradewind.api.v2.listed import runs_of, tis_of
from tradewind.core.permissions import Action, Resource
from tradewind.errors import InvalidInput
from tradewind.services import queries as q
from tradewind.services.run_service import RunService
from tradewind.services.task_instance_service import TaskInstanceService

router = APIRouter()

ReadRun = Annotated[CurrentUser, permission(Resource.DAG_RUN, Action.READ)]
ReadTi = Annotated[CurrentUser, permission(Resource.TASK_INSTANCE, Action.READ)]
Tilde = Literal["~"]


@router.post(
    "/dags/{dag_id}/dagRuns/list", response_model=s.DAGRunCollectionResponse, tags=["DagRun"]
)
def get_list_dag_runs_batch(
    dag_id: Tilde, body: sx.DAGRunsBatchBody, env: EnvDep, _user: ReadRun
) -> s.DAGRunCollectionResponse:
    """Runs of the DAGs in ``dag_ids`` (all DAGs when absent), filtered and paged."""
    ranges = body.ranges()
    if "duration" in ranges:
        raise InvalidInput("duration_* filters are not supported on DAG runs; use start/end dates")
    where = q.run_conditions(
        body.dag_ids,
        states=[x.value for x in body.states or () if x is not None],
        ranges=ranges,
        conf_contains=body.conf_contains,
    )
    paging = q.Paging(body.page_limit, body.page_offset, (body.order_by or "id",))
    return runs_of(RunService(env).page(where, paging))


@router.post(
    "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/list",
    response_model=s.TaskInstanceCollectionResponse,
    tags=["Task Instance"],
)
def get_task_instances_batch(
    dag_id: Tilde,
    dag_run_id: Tilde,
    body: sx.TaskInstancesBatchBody,
    env: EnvDep,
    _user: ReadTi,
) -> s.TaskInstanceCollectionResponse:
    """Task instances across DAGs and runs, filtered by the body and paged."""
    flt = q.TiFilter(
        dag_ids=body.dag_ids or (),
        run_ids=body.dag_run_ids or (),
        task_ids=body.task_ids or (),
        states=[x.value if x is not None else "none" for x in body.state or ()],
        pools=body.pool or (),
        queues=body.queue or (),
        executors=body.executor or (),
        ranges=body.ranges(),
    )
    paging = q.Paging(body.page_limit, body.page_offset, (body.order_by or "map_index",))
    page = TaskInstanceService(env).page(flt.conditions(), paging)
    items = tis_of(page.items, page.labels)
    return s.TaskInstanceCollectionResponse(task_instances=items, total_entries=page.total)
