"""Task instances: list (``~`` for all DAGs/runs), get, mark (patch), clear, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from tradewind.api.deps import EnvDep, allowed
from tradewind.api.v2 import convert
from tradewind.api.v2 import schemas as s
from tradewind.api.v2.list_filters import TiFilters
from tradewind.api.v2.params import Limit, Offset, OrderBy, UpdateMask, check_mask
from tradewind.api.v2.routes.dag_runs import CURSOR_DOC, Ranges, _get_run
from tradewind.core.permissions import Action, Resource
from tradewind.errors import InvalidInput
from tradewind.services import dags as dag_service
from tradewind.services import edits
from tradewind.services import queries as q
from tradewind.services import task_instances as ti_service

router = APIRouter(tags=["Task Instance"])

ReadTi = allowed(Resource.TASK_INSTANCE, Action.READ)
EditTi = allowed(Resource.TASK_INSTANCE, Action.EDIT)
DeleteTi = allowed(Resource.TASK_INSTANCE, Action.DELETE)

TI_PATH = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances"
StrList = Annotated[list[str] | None, Query()]
IntList = Annotated[list[int] | None, Query()]
StateList = Annotated[list[str] | None, Query(description="States; `none` for no state.")]


def ti_page_items(session: Any, rows: list[tuple[Any, Any]]) -> list[s.TaskInstanceResponse]:
    """Task instances with their runs as API models (versions and names: one query each)."""
    versions = q.dag_versions(session, ((ti.dag_id, ti.dag_version) for ti, _ in rows))
    names = q.display_names(session, (ti.dag_id for ti, _ in rows))
    return [convert.ti_response(ti, run, versions, names) for ti, run in rows]


def _with_runs(session: Any, dag_id: str, tis: list[Any]) -> list[tuple[Any, Any]]:
    found = q.runs_by_id(session, dag_id, (t.run_id for t in tis))
    return [(t, found[t.run_id]) for t in tis if t.run_id in found]


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
    with env.db.session(readonly=True) as session:
        if dag_id != q.WILDCARD:
            dag_service.get_dag(session, dag_id)
            if dag_run_id != q.WILDCARD:
                _get_run(session, dag_id, dag_run_id)
        if cursor is not None:
            keyset = q.list_task_instances_after(
                session, flt.conditions() + list(extra), order_by or ("map_index",), limit, cursor
            )
            return s.TaskInstanceCollectionResponse(
                task_instances=ti_page_items(session, keyset.items),
                total_entries=keyset.total,
                total_entries_limit=q.TOTAL_ENTRIES_LIMIT,
                next_cursor=keyset.next_cursor,
                previous_cursor=keyset.previous_cursor,
            )
        paging = q.Paging(limit, offset, tuple(order_by or ("map_index",)))
        page = q.list_task_instances(session, flt.conditions() + list(extra), paging)
        items = ti_page_items(session, page.items)
    return s.TaskInstanceCollectionResponse(task_instances=items, total_entries=page.total)


def _one(
    env: Any, dag_id: str, run_id: str, task_id: str, map_index: int
) -> s.TaskInstanceResponse:
    with env.db.session(readonly=True) as session:
        ti, run = q.get_task_instance(session, dag_id, run_id, task_id, map_index)
        return ti_page_items(session, [(ti, run)])[0]


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
    now = env.now()
    with env.db.session() as session:
        ti, _run = q.get_task_instance(session, dag_id, run_id, task_id, map_index)
        changed = [ti]
        if "new_state" in fields and body.new_state is not None:
            changed = ti_service.set_ti_state(
                session,
                dag_id,
                run_id,
                task_id,
                body.new_state.value,
                now=now,
                user=user.username,
                downstream=body.include_downstream,
                upstream=body.include_upstream,
                dry_run=dry_run,
                map_index=map_index,
            )
        if "note" in fields and not dry_run:
            edits.set_ti_note(
                session, dag_id, run_id, task_id, map_index, body.note, now=now, user=user.username
            )
        session.flush()
        for t in changed:
            session.refresh(t)
        items = ti_page_items(session, _with_runs(session, dag_id, changed))
        if dry_run:
            session.rollback()
    if not dry_run:
        env.wake()
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
    with env.db.session() as session:
        q.get_task_instance(session, dag_id, dag_run_id, task_id, map_index)
        edits.delete_task_instance(
            session, dag_id, dag_run_id, task_id, map_index, now=env.now(), user=user.username
        )


@router.post("/dags/{dag_id}/clearTaskInstances", response_model=s.TaskInstanceCollectionResponse)
def post_clear_task_instances(
    dag_id: str, body: s.ClearTaskInstancesBody, env: EnvDep, user: EditTi
) -> s.TaskInstanceCollectionResponse:
    """Clear task instances so they run again; ``dry_run`` (default) only lists them."""
    task_ids = None
    if body.task_ids is not None:
        task_ids = sorted({t if isinstance(t, str) else t[0] for t in body.task_ids})
    with env.db.session() as session:
        dag_service.get_dag(session, dag_id)
        if body.dag_run_id is not None:
            _get_run(session, dag_id, body.dag_run_id)
        cleared = ti_service.clear_task_instances(
            session,
            dag_id,
            now=env.now(),
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
        )
        session.flush()
        for t in cleared:
            session.refresh(t)
        items = ti_page_items(session, _with_runs(session, dag_id, cleared))
    if not body.dry_run:
        env.wake()
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
