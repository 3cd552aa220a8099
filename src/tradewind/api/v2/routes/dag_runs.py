"""``/dags/{dag_id}/dagRuns``: list (``~`` for all DAGs), get, trigger, patch, clear, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.api.v2 import convert
from tradewind.api.v2 import schemas as s
from tradewind.api.v2.list_filters import RunFilters
from tradewind.api.v2.listed import run_of, runs_of, tis_of
from tradewind.api.v2.params import Limit, Offset, OrderBy, UpdateMask, check_mask
from tradewind.core.permissions import Action, Resource
from tradewind.services import queries as q
from tradewind.services.run_service import RunService

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
    one_dag = None if dag_id == q.WILDCARD else dag_id
    where = q.run_conditions(
        None if one_dag is None else [one_dag],
        states=[x.value for x in state or ()],
        run_types=[x.value for x in run_type or ()],
        run_id_pattern=run_id_pattern,
        ranges=ranges,
        conf_contains=conf_contains,
    ) + list(extra)
    service = RunService(env)
    if cursor is not None:
        keyset = service.page_after(where, order_by or ("id",), limit, cursor, dag_id=one_dag)
        answer = runs_of(keyset)
        answer.total_entries_limit = q.TOTAL_ENTRIES_LIMIT
        answer.next_cursor = keyset.next_cursor
        answer.previous_cursor = keyset.previous_cursor
        return answer
    paging = q.Paging(limit, offset, tuple(order_by or ("id",)))
    return runs_of(service.page(where, paging, dag_id=one_dag))


@router.get("/dags/{dag_id}/dagRuns/{dag_run_id}", response_model=s.DAGRunResponse)
def get_dag_run(dag_id: str, dag_run_id: str, env: EnvDep, _user: ReadRun) -> s.DAGRunResponse:
    """One DAG run."""
    return run_of(*RunService(env).shown(dag_id, dag_run_id))


@router.post("/dags/{dag_id}/dagRuns", response_model=s.DAGRunResponse)
def trigger_dag_run(
    dag_id: str, body: s.TriggerDAGRunPostBody, env: EnvDep, user: CreateRun
) -> s.DAGRunResponse:
    """Trigger a manual run; ``logical_date: null`` means a run without a logical date."""
    run, labels = RunService(env).create(
        dag_id,
        conf=body.conf,
        run_id=body.dag_run_id,
        logical_date=body.logical_date,
        note=body.note,
        user=user.username,
    )
    return run_of(run, labels)


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
    state = body.state.value if "state" in fields and body.state is not None else None
    run, labels = RunService(env).change(
        dag_id, dag_run_id, state=state, note=body.note, set_note="note" in fields,
        user=user.username,
    )  # fmt: skip
    return run_of(run, labels)


@router.post(
    "/dags/{dag_id}/dagRuns/{dag_run_id}/clear",
    response_model=s.ClearTaskInstanceCollectionResponse | s.DAGRunResponse,
)
def clear_dag_run(
    dag_id: str, dag_run_id: str, body: s.DAGRunClearBody, env: EnvDep, user: EditRun
) -> Any:
    """Clear a run's task instances (all, or only failed); ``dry_run`` (default) lists them."""
    service = RunService(env)
    if body.dry_run:
        rows, labels = service.clear_preview(dag_id, dag_run_id, only_failed=body.only_failed)
        items = tis_of(rows, labels)
        return s.ClearTaskInstanceCollectionResponse(task_instances=items, total_entries=len(items))
    run, labels = service.clear(
        dag_id, dag_run_id, only_failed=body.only_failed, note=body.note, user=user.username
    )
    return run_of(run, labels)


@router.delete("/dags/{dag_id}/dagRuns/{dag_run_id}", status_code=204)
def delete_dag_run(dag_id: str, dag_run_id: str, env: EnvDep, user: DeleteRun) -> Response:
    """Delete a run with its task instances."""
    RunService(env).delete(dag_id, dag_run_id, user=user.username)
    return Response(status_code=204)
