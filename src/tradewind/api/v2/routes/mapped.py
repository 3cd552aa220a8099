"""Mapped task instances: ``.../taskInstances/{task_id}/listMapped`` and the tries of one map
index (``.../{task_id}/{map_index}/tries``), as Airflow's ``/api/v2`` has them.

Registered before ``task_instances.mapped_router``, so a literal segment such as
``listMapped`` is never read as a ``{map_index}``.
"""

from __future__ import annotations

from fastapi import APIRouter

from tradewind.api.deps import EnvDep
from tradewind.api.v2 import schemas as s
from tradewind.api.v2.list_filters import TiFilters
from tradewind.api.v2.listed import tis_of
from tradewind.api.v2.params import Limit, Offset, OrderBy
from tradewind.api.v2.routes.dag_runs import Ranges
from tradewind.api.v2.routes.task_instances import (
    TI_PATH,
    IntList,
    ReadTi,
    StateList,
    StrList,
    _check_states,
)
from tradewind.api.v2.routes.ti_logs import get_task_instance_tries, get_task_instance_try_details
from tradewind.services import queries as q
from tradewind.services.task_instance_service import TaskInstanceService

router = APIRouter(tags=["Task Instance"])


@router.get(TI_PATH + "/{task_id}/listMapped", response_model=s.TaskInstanceCollectionResponse)
def get_mapped_task_instances(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    env: EnvDep,
    _user: ReadTi,
    ranges: Ranges,
    state: StateList = None,
    pool: StrList = None,
    queue: StrList = None,
    executor: StrList = None,
    try_number: IntList = None,
    map_index: IntList = None,
    operator: StrList = None,
    limit: Limit = 50,
    offset: Offset = 0,
    order_by: OrderBy = None,
    extra: TiFilters = [],  # noqa: B006 - FastAPI fills it
) -> s.TaskInstanceCollectionResponse:
    """The instances of a mapped task in one run (map index 0 and up), filtered and paged;
    404 when the task is not mapped."""
    flt = q.TiFilter(
        dag_id=dag_id,
        run_id=dag_run_id,
        task_id=task_id,
        states=_check_states(state),
        pools=pool or (),
        queues=queue or (),
        executors=executor or (),
        try_numbers=try_number or (),
        map_indexes=map_index or (),
        operators=operator or (),
        ranges=ranges,
    )
    paging = q.Paging(limit, offset, tuple(order_by or ("map_index",)))
    where = flt.conditions() + list(extra)
    page = TaskInstanceService(env).mapped_page(dag_id, dag_run_id, task_id, where, paging)
    items = tis_of(page.items, page.labels)
    return s.TaskInstanceCollectionResponse(task_instances=items, total_entries=page.total)


@router.get(
    TI_PATH + "/{task_id}/{map_index}/tries",
    response_model=s.TaskInstanceHistoryCollectionResponse,
)
def get_mapped_task_instance_tries(
    dag_id: str, dag_run_id: str, task_id: str, map_index: int, env: EnvDep, _user: ReadTi
) -> s.TaskInstanceHistoryCollectionResponse:
    """All tries of one instance of a mapped task."""
    return get_task_instance_tries(dag_id, dag_run_id, task_id, env, _user, map_index)


@router.get(
    TI_PATH + "/{task_id}/{map_index}/tries/{task_try_number}",
    response_model=s.TaskInstanceHistoryResponse,
)
def get_mapped_task_instance_try_details(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    map_index: int,
    task_try_number: int,
    env: EnvDep,
    _user: ReadTi,
) -> s.TaskInstanceHistoryResponse:
    """One try of one instance of a mapped task."""
    return get_task_instance_try_details(
        dag_id, dag_run_id, task_id, task_try_number, env, _user, map_index
    )
