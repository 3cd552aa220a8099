"""``/dags/{dag_id}/dagRuns``: list (``~`` for all DAGs), get, trigger, patch, clear, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.api.v2 import convert
from tradewind.api.v2 import schemas as s
from tradewind.api.v2.list_filters import RunFilters
from tradewind.api.v2.params import Limit, Offset, OrderBy, UpdateMask, check_mask
from tradewind.core.permissions import Action, Resource
from tradewind.errors import NotFound
from tradewind.services import dags as dag_service
from tradewind.services import edits, runs
from tradewind.services import queries as q
from tradewind.services import task_instances as ti_service

router = APIRouter(tags=["DagRun"])

ReadRun = Annotated[CurrentUser, permission(Resource.DAG_RUN, Action.READ)]
CreateRun = Annotated[CurrentUser, permission(Resource.DAG_RUN, Action.CREATE)]
EditRun = Annotated[CurrentUser, permission(Resource.DAG_RUN, Action.EDIT)]
DeleteRun = Annotated[CurrentUser, permission(Resource.DAG_RUN, Action.DELETE)]

Date = datetime | None


def date_ranges(
    logical_date_gte: Date = None,
    logical_date_gt: Date = None,
    logical_date_lte: Date = None,
    logical_date_lt: Date = None,
    start_date_gte: Date = None,
    start_date_gt: Date = None,
    start_date_lte: Date = None,
    start_date_lt: Date = None,
    end_date_gte: Date = None,
    end_date_gt: Date = None,
    end_date_lte: Date = None,
    end_date_lt: Date = None,
    run_after_gte: Date = None,
    run_after_gt: Date = None,
    run_after_lte: Date = None,
    run_after_lt: Date = None,
) -> dict[str, dict[str, Date]]:
    """The ``<field>_gte/_gt/_lte/_lt`` filters, grouped by field."""
    given = {k: v for k, v in locals().items() if v is not None}
    out: dict[str, dict[str, Date]] = {}
    for name, value in given.items():
        field, op = name.rsplit("_", 1)
        out.setdefault(field, {})[op] = convert.aware(value)
    return out


CURSOR_DOC = (
    "Cursor for keyset-based pagination. Pass an empty string for the first page, then use "
    "``next_cursor`` from the response. When ``cursor`` is provided, ``offset`` is ignored."
)
Ranges = Annotated[dict[str, dict[str, Date]], Depends(date_ranges)]
States = Annotated[list[s.DagRunState] | None, Query()]
RunTypes = Annotated[list[s.DagRunType] | None, Query()]


def page_response(session: Any, page: q.Page[Any]) -> s.DAGRunCollectionResponse:
    """Runs of a page with their versions and DAG display names (two queries for the page)."""
    versions = q.dag_versions(session, ((r.dag_id, r.dag_version) for r in page.items))
    names = q.display_names(session, (r.dag_id for r in page.items))
    items = [convert.run_response(r, versions, names) for r in page.items]
    return s.DAGRunCollectionResponse(dag_runs=items, total_entries=page.total)


def one_run(session: Any, run: Any) -> s.DAGRunResponse:
    """A single run as the API returns it."""
    versions = q.dag_versions(session, [(run.dag_id, run.dag_version)])
    names = q.display_names(session, [run.dag_id])
    return convert.run_response(run, versions, names)


@router.get("/dags/{dag_id}/dagRuns", response_model=s.DAGRunCollectionResponse)
def get_dag_runs(
    dag_id: str,
    env: EnvDep,
    _user: ReadRun,
    ranges: Ranges,
    limit: Limit = 50,
    offset: Offset = 0,
    state: States = None,
    run_type: RunTypes = None,
    run_id_pattern: str | None = None,
    order_by: OrderBy = None,
    cursor: Annotated[str | None, Query(description=CURSOR_DOC)] = None,
    conf_contains: str | None = None,
    extra: RunFilters = [],  # noqa: B006 - FastAPI fills it
) -> s.DAGRunCollectionResponse:
    """Runs of a DAG (``~``: of every DAG), filtered and paged by offset or by cursor."""
    with env.db.session(readonly=True) as session:
        if dag_id != q.WILDCARD:
            dag_service.get_dag(session, dag_id)
        where = q.run_conditions(
            None if dag_id == q.WILDCARD else [dag_id],
            states=[x.value for x in state or ()],
            run_types=[x.value for x in run_type or ()],
            run_id_pattern=run_id_pattern,
            ranges=ranges,
            conf_contains=conf_contains,
        ) + list(extra)
        if cursor is not None:
            keyset = q.list_runs_after(session, where, order_by or ("id",), limit, cursor)
            answer = page_response(session, q.Page(keyset.items, keyset.total))
            answer.total_entries_limit = q.TOTAL_ENTRIES_LIMIT
            answer.next_cursor = keyset.next_cursor
            answer.previous_cursor = keyset.previous_cursor
            return answer
        page = q.list_runs(session, where, q.Paging(limit, offset, tuple(order_by or ("id",))))
        return page_response(session, page)


@router.get("/dags/{dag_id}/dagRuns/{dag_run_id}", response_model=s.DAGRunResponse)
def get_dag_run(dag_id: str, dag_run_id: str, env: EnvDep, _user: ReadRun) -> s.DAGRunResponse:
    """One DAG run."""
    with env.db.session(readonly=True) as session:
        return one_run(session, _get_run(session, dag_id, dag_run_id))


def _get_run(session: Any, dag_id: str, run_id: str) -> Any:
    try:
        return runs.get_run(session, dag_id, run_id)
    except NotFound:
        raise NotFound(
            f"The DagRun with dag_id: `{dag_id}` and run_id: `{run_id}` was not found"
        ) from None


@router.post("/dags/{dag_id}/dagRuns", response_model=s.DAGRunResponse)
def trigger_dag_run(
    dag_id: str, body: s.TriggerDAGRunPostBody, env: EnvDep, user: CreateRun
) -> s.DAGRunResponse:
    """Trigger a manual run; ``logical_date: null`` means a run without a logical date."""
    with env.db.session() as session:
        run = runs.trigger_run(
            session,
            dag_id,
            now=env.now(),
            conf=body.conf,
            run_id=body.dag_run_id,
            logical_date=body.logical_date,
            logical_date_given=True,
            user=user.username,
            triggered_by="rest_api",
            run_id_pattern=env.settings.get("scheduler", "allowed_run_id_pattern"),
            note=body.note,
        )
        session.flush()
        out = one_run(session, run)
    env.wake()
    return out


@router.patch("/dags/{dag_id}/dagRuns/{dag_run_id}", response_model=s.DAGRunResponse)
def patch_dag_run(
    dag_id: str,
    dag_run_id: str,
    body: s.DAGRunPatchBody,
    env: EnvDep,
    user: EditRun,
    update_mask: UpdateMask = None,
) -> s.DAGRunResponse:
    """Mark a run queued/success/failed and/or set its note."""
    fields = check_mask(update_mask, {"state", "note"}) or body.model_fields_set
    now = env.now()
    with env.db.session() as session:
        run = _get_run(session, dag_id, dag_run_id)
        if "state" in fields and body.state is not None:
            run = ti_service.set_run_state(
                session, dag_id, dag_run_id, body.state.value, now=now, user=user.username
            )
        if "note" in fields:
            run = edits.set_run_note(
                session, dag_id, dag_run_id, body.note, now=now, user=user.username
            )
        session.flush()
        session.refresh(run)
        out = one_run(session, run)
    env.wake()
    return out


@router.post(
    "/dags/{dag_id}/dagRuns/{dag_run_id}/clear",
    response_model=s.ClearTaskInstanceCollectionResponse | s.DAGRunResponse,
)
def clear_dag_run(
    dag_id: str, dag_run_id: str, body: s.DAGRunClearBody, env: EnvDep, user: EditRun
) -> Any:
    """Clear a run's task instances (all, or only failed); ``dry_run`` (default) lists them."""
    from tradewind.api.v2.routes.task_instances import ti_page_items

    with env.db.session() as session:
        _get_run(session, dag_id, dag_run_id)
        cleared = ti_service.clear_task_instances(
            session,
            dag_id,
            now=env.now(),
            run_id=dag_run_id,
            only_failed=body.only_failed,
            dry_run=body.dry_run,
            user=user.username,
        )
        if body.dry_run:
            items = ti_page_items(
                session, [(ti, _get_run(session, dag_id, dag_run_id)) for ti in cleared]
            )
            return s.ClearTaskInstanceCollectionResponse(
                task_instances=items, total_entries=len(items)
            )
        if body.note is not None:
            edits.set_run_note(
                session, dag_id, dag_run_id, body.note, now=env.now(), user=user.username
            )
        session.flush()
        run = _get_run(session, dag_id, dag_run_id)
        session.refresh(run)
        out = one_run(session, run)
    env.wake()
    return out


@router.delete("/dags/{dag_id}/dagRuns/{dag_run_id}", status_code=204)
def delete_dag_run(dag_id: str, dag_run_id: str, env: EnvDep, user: DeleteRun) -> Response:
    """Delete a run with its task instances."""
    with env.db.session() as session:
        _get_run(session, dag_id, dag_run_id)
        edits.delete_run(session, dag_id, dag_run_id, now=env.now(), user=user.username)
    return Response(status_code=204)
