"""Task instances: list (``~`` for all DAGs/runs), get, mark (patch), clear, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from tradewind.api.deps import EnvDep, allowed
from tradewind.api.v2 import schemas as s
from tradewind.api.v2.list_filters import TiFilters
from tradewind.api.v2.listed import tis_of
from tradewind.api.v2.params import Limit, Offset, OrderBy, UpdateMask, check_mask
from tradewind.api.v2.routes.dag_runs import CURSOR_DOC, Ranges
from tradewind.core.permissions import Action, Resource
from tradewind.errors import InvalidInput
from tradewind.services import queries as q
from tradewind.services.listings import ti_labels
from tradewind.services.task_instance_service import TaskInstanceService

router = APIRouter(tags=["Task Instance"])

ReadTi = allowed(Resource.TASK_INSTANCE, Action.READ)
EditTi = allowed(Resource.TASK_INSTANCE, Action.EDIT)
DeleteTi = allowed(Resource.TASK_INSTANCE, Action.DELETE)

TI_PATH = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances"
StrList = Annotated[list[str] | None, Query()]
IntList = Annotated[list[int] | None, Query()]
StateList = Annotated[list[str] | None, Query(description="States; `none` for no state.")]


def ti_page_items(session: Any, rows: list[tuple[Any, Any]]) -> list[s.TaskInstanceResponse]:
    """Task instances with their runs as API models, labelled in the caller's session."""
    return tis_of(rows, ti_labels(session, rows))


def _check_states(states: list[str] | None) -> list[str]:
    valid = {x.value for x in s.TaskInstanceState} | {"none", "no_status"}
    bad = [x for x in states or () if x not in valid]
    if bad:
        raise InvalidInput(f"Invalid value for state. Valid values are {', '.join(sorted(valid))}")
    return list(states or ())


@router.get(TI_PATH, response_model=s.TaskInstanceCollectionResponse)
def get_task_instances(
    dag_id: str,
    dag_run_id: str,
    env: EnvDep,
    _user: ReadTi,
    ranges: Ranges,
    task_id: str | None = None,
    state: StateList = None,
    pool: StrList = None,
    queue: StrList = None,
    executor: StrList = None,
    try_number: IntList = None,
    map_index: IntList = None,
    operator: StrList = None,
    task_display_name_pattern: str | None = None,
    run_id_pattern: str | None = None,
    dag_id_pattern: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
    order_by: OrderBy = None,
    cursor: Annotated[str | None, Query(description=CURSOR_DOC)] = None,
    extra: TiFilters = [],  # noqa: B006 - FastAPI fills it
) -> s.TaskInstanceCollectionResponse:
    """Task instances of a run (``~`` for every DAG or run), filtered, paged by offset or
    by cursor."""
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
        task_pattern=task_display_name_pattern,
        run_id_pattern=run_id_pattern,
        dag_id_pattern=dag_id_pattern,
        ranges=ranges,
    )
    service = TaskInstanceService(env)
    where = flt.conditions() + list(extra)
    if cursor is not None:
        keyset = service.listing_after(
            where, order_by or ("map_index",), limit, cursor, dag_id=dag_id, run_id=dag_run_id
        )
        return s.TaskInstanceCollectionResponse(
            task_instances=tis_of(keyset.items, keyset.labels),
            total_entries=keyset.total,
            total_entries_limit=q.TOTAL_ENTRIES_LIMIT,
            next_cursor=keyset.next_cursor,
            previous_cursor=keyset.previous_cursor,
        )
    paging = q.Paging(limit, offset, tuple(order_by or ("map_index",)))
    page = service.listing(where, paging, dag_id=dag_id, run_id=dag_run_id)
    items = tis_of(page.items, page.labels)
    return s.TaskInstanceCollectionResponse(task_instances=items, total_entries=page.total)


def _one(
    env: Any, dag_id: str, run_id: str, task_id: str, map_index: int
) -> s.TaskInstanceResponse:
    found = TaskInstanceService(env).one(dag_id, run_id, task_id, map_index)
    return tis_of(found.items, found.labels)[0]


@router.get(TI_PATH + "/{task_id}", response_model=s.TaskInstanceResponse)
def get_task_instance(
    dag_id: str, dag_run_id: str, task_id: str, env: EnvDep, _user: ReadTi
) -> s.TaskInstanceResponse:
    """One (unmapped) task instance."""
    return _one(env, dag_id, dag_run_id, task_id, -1)


def _patch(
    env: Any,
    user: Any,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int,
    body: s.PatchTaskInstanceBody,
    update_mask: list[str] | None,
    dry_run: bool,
) -> s.TaskInstanceCollectionResponse:
    """Mark a task instance (and maybe its up/downstream) and/or set its note."""
    fields = check_mask(update_mask, {"new_state", "note"}) or body.model_fields_set
    changes: dict[str, Any] = {}
    if "new_state" in fields and body.new_state is not None:
        changes["new_state"] = body.new_state.value
    if "note" in fields:
        changes["note"] = body.note
    found = TaskInstanceService(env).patch(
        dag_id, run_id, task_id, map_index, **changes, upstream=body.include_upstream,
        downstream=body.include_downstream, dry_run=dry_run, user=user.username,
    )  # fmt: skip
    items = tis_of(found.items, found.labels)
    return s.TaskInstanceCollectionResponse(task_instances=items, total_entries=len(items))


@router.patch(TI_PATH + "/{task_id}/dry_run", response_model=s.TaskInstanceCollectionResponse)
def patch_task_instance_dry_run(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    body: s.PatchTaskInstanceBody,
    env: EnvDep,
    user: EditTi,
    map_index: int = -1,
    update_mask: UpdateMask = None,
) -> s.TaskInstanceCollectionResponse:
    """What ``patch_task_instance`` would change, changing nothing."""
    return _patch(env, user, dag_id, dag_run_id, task_id, map_index, body, update_mask, True)


@router.patch(TI_PATH + "/{task_id}", response_model=s.TaskInstanceCollectionResponse)
def patch_task_instance(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    body: s.PatchTaskInstanceBody,
    env: EnvDep,
    user: EditTi,
    map_index: int = -1,
    update_mask: UpdateMask = None,
) -> s.TaskInstanceCollectionResponse:
    """Mark a task instance success/failed/skipped and/or set its note."""
    return _patch(env, user, dag_id, dag_run_id, task_id, map_index, body, update_mask, False)


@router.delete(TI_PATH + "/{task_id}", status_code=200)
def delete_task_instance(
    dag_id: str, dag_run_id: str, task_id: str, env: EnvDep, user: DeleteTi, map_index: int = -1
) -> None:
    """Delete a task instance."""
    TaskInstanceService(env).delete(dag_id, dag_run_id, task_id, map_index, user=user.username)


@router.post("/dags/{dag_id}/clearTaskInstances", response_model=s.TaskInstanceCollectionResponse)
def post_clear_task_instances(
    dag_id: str, body: s.ClearTaskInstancesBody, env: EnvDep, user: EditTi
) -> s.TaskInstanceCollectionResponse:
    """Clear task instances so they run again; ``dry_run`` (default) only lists them."""
    task_ids = None
    pairs: set[tuple[str, int]] | None = None
    if body.task_ids is not None:
        task_ids = sorted({t if isinstance(t, str) else t[0] for t in body.task_ids})
        # ``[task_id, map_index]`` items clear only those instances of a mapped task.
        if any(not isinstance(t, str) for t in body.task_ids):
            pairs = {(t[0], int(t[1])) for t in body.task_ids if not isinstance(t, str)}
            whole = {t for t in body.task_ids if isinstance(t, str)}
    found = TaskInstanceService(env).clear_listed(
        dag_id,
        task_ids=task_ids,
        run_id=body.dag_run_id,
        start_date=body.start_date,
        end_date=body.end_date,
        only_failed=body.only_failed,
        only_running=body.only_running,
        downstream=body.include_downstream,
        upstream=body.include_upstream,
        dry_run=body.dry_run,
        user=user.username,
        instances=None if pairs is None else (pairs, whole),
    )
    items = tis_of(found.items, found.labels)
    return s.TaskInstanceCollectionResponse(task_instances=items, total_entries=len(items))


# Registered last, and ``{map_index:int}`` matches digits only: a literal segment such as
# ``listMapped``, ``tries`` or ``links`` is never read as a map index (Airflow answers 404).
mapped_router = APIRouter(tags=["Task Instance"])


@mapped_router.get(TI_PATH + "/{task_id}/{map_index:int}", response_model=s.TaskInstanceResponse)
def get_mapped_task_instance(
    dag_id: str, dag_run_id: str, task_id: str, map_index: int, env: EnvDep, _user: ReadTi
) -> s.TaskInstanceResponse:
    """One mapped task instance."""
    return _one(env, dag_id, dag_run_id, task_id, map_index)


@mapped_router.patch(
    TI_PATH + "/{task_id}/{map_index:int}", response_model=s.TaskInstanceCollectionResponse
)
def patch_task_instance_by_map_index(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    map_index: int,
    body: s.PatchTaskInstanceBody,
    env: EnvDep,
    user: EditTi,
    update_mask: UpdateMask = None,
) -> s.TaskInstanceCollectionResponse:
    """Mark a mapped task instance and/or set its note."""
    return _patch(env, user, dag_id, dag_run_id, task_id, map_index, body, update_mask, False)
