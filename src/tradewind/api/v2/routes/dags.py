"""``/dags``, ``/dags/{dag_id}``, ``/dags/{dag_id}/details``, ``/dagTags``, tasks, sources."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import PlainTextResponse, Response

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.api.v2 import convert
from tradewind.api.v2 import schemas as s
from tradewind.api.v2.list_filters import DagFilters
from tradewind.api.v2.params import Limit, Offset, OrderBy, UpdateMask, check_mask
from tradewind.core.permissions import Action, Resource
from tradewind.errors import InvalidInput, NotFound
from tradewind.services import queries as q
from tradewind.services.dags import DagService

router = APIRouter(tags=["DAG"])

ReadDag = Annotated[CurrentUser, permission(Resource.DAG, Action.READ)]
EditDag = Annotated[CurrentUser, permission(Resource.DAG, Action.EDIT)]
DeleteDag = Annotated[CurrentUser, permission(Resource.DAG, Action.DELETE)]
ReadCode = Annotated[CurrentUser, permission(Resource.DAG_CODE, Action.READ)]


def _filter(
    tags: list[str] | None,
    tags_match_mode: str | None,
    owners: list[str] | None,
    dag_id_pattern: str | None,
    dag_id_prefix_pattern: str | None,
    exclude_stale: bool,
    paused: bool | None,
    **extra: Any,
) -> q.DagFilter:
    return q.DagFilter(
        tags=tuple(tags or ()),
        tags_match_mode=tags_match_mode or "any",
        owners=tuple(owners or ()),
        dag_id_pattern=dag_id_pattern,
        dag_id_prefix_pattern=dag_id_prefix_pattern,
        exclude_stale=exclude_stale,
        paused=paused,
        **extra,
    )


Tags = Annotated[list[str] | None, Query()]
MatchMode = Annotated[Literal["any", "all"] | None, Query()]


@router.get("/dags", response_model=s.DAGCollectionResponse)
def get_dags(
    env: EnvDep,
    _user: ReadDag,
    limit: Limit = 50,
    offset: Offset = 0,
    tags: Tags = None,
    tags_match_mode: MatchMode = None,
    owners: Tags = None,
    dag_id_pattern: str | None = None,
    dag_id_prefix_pattern: str | None = None,
    dag_display_name_pattern: str | None = None,
    exclude_stale: bool = True,
    paused: bool | None = None,
    has_import_errors: bool | None = None,
    last_dag_run_state: s.DagRunState | None = None,
    order_by: OrderBy = None,
    is_favorite: bool | None = None,
    extra: DagFilters = [],  # noqa: B006 - FastAPI fills it
) -> s.DAGCollectionResponse:
    """List DAGs, with Airflow's filters; ``total_entries`` counts every match."""
    flt = _filter(
        tags,
        tags_match_mode,
        owners,
        dag_id_pattern,
        dag_id_prefix_pattern,
        exclude_stale,
        paused,
        dag_display_name_pattern=dag_display_name_pattern,
        has_import_errors=has_import_errors,
        last_dag_run_state=last_dag_run_state.value if last_dag_run_state else None,
        is_favorite=is_favorite,
        favorite_user=_user.username,
        extra=tuple(extra),
    )
    paging = q.Paging(limit, offset, tuple(order_by or ("dag_id",)))
    page = DagService(env).search(flt, paging)
    dags = [convert.dag_response(row, env.secret_key) for row in page.items]
    return s.DAGCollectionResponse(dags=dags, total_entries=page.total)


@router.patch("/dags", response_model=s.DAGCollectionResponse)
def patch_dags(
    body: s.DAGPatchBody,
    env: EnvDep,
    user: EditDag,
    update_mask: UpdateMask = None,
    limit: Limit = 50,
    offset: Offset = 0,
    tags: Tags = None,
    tags_match_mode: MatchMode = None,
    owners: Tags = None,
    dag_id_pattern: str | None = None,
    dag_id_prefix_pattern: str | None = None,
    exclude_stale: bool = True,
    paused: bool | None = None,
) -> s.DAGCollectionResponse:
    """Pause or unpause every DAG matching the filters (a pattern is required; ``~`` = all)."""
    check_mask(update_mask, {"is_paused"})
    if not dag_id_pattern and not dag_id_prefix_pattern:
        return s.DAGCollectionResponse(dags=[], total_entries=0)
    flt = _filter(
        tags, tags_match_mode, owners, dag_id_pattern, dag_id_prefix_pattern, exclude_stale, paused
    )
    paging = q.Paging(limit, offset, ("dag_id",))
    page = DagService(env).pause_matching(flt, paging, body.is_paused, user=user.username)
    dags = [convert.dag_response(row, env.secret_key) for row in page.items]
    return s.DAGCollectionResponse(dags=dags, total_entries=page.total)


@router.get("/dags/{dag_id}", response_model=s.DAGResponse)
def get_dag(dag_id: str, env: EnvDep, _user: ReadDag) -> s.DAGResponse:
    """One DAG."""
    return convert.dag_response(DagService(env).get(dag_id), env.secret_key)


@router.get("/dags/{dag_id}/details", response_model=s.DAGDetailsResponse)
def get_dag_details(dag_id: str, env: EnvDep, _user: ReadDag) -> s.DAGDetailsResponse:
    """One DAG with the details of its latest version."""
    row, sdag, version, active = DagService(env).detail(dag_id)
    return convert.dag_details(row, sdag, version, active, env.secret_key)


@router.patch("/dags/{dag_id}", response_model=s.DAGResponse)
def patch_dag(
    dag_id: str, body: s.DAGPatchBody, env: EnvDep, user: EditDag, update_mask: UpdateMask = None
) -> s.DAGResponse:
    """Pause or unpause one DAG."""
    check_mask(update_mask, {"is_paused"})
    row = DagService(env).set_paused(dag_id, body.is_paused, user=user.username)
    return convert.dag_response(row, env.secret_key)


@router.delete("/dags/{dag_id}", status_code=200)
def delete_dag(dag_id: str, env: EnvDep, user: DeleteDag) -> Any:
    """Delete a DAG's records (it comes back at the next parse if its file still exists)."""
    DagService(env).delete_idle(dag_id, user=user.username)
    return None


@router.get("/dagTags", tags=["DAG"])
def get_dag_tags(
    env: EnvDep,
    _user: ReadDag,
    limit: Limit = 50,
    offset: Offset = 0,
    order_by: OrderBy = None,
    tag_name_pattern: str | None = None,
    tag_name_prefix_pattern: str | None = None,
) -> dict[str, Any]:
    """Distinct tags of the DAGs."""
    order = tuple(order_by or ("name",))
    if any(o.lstrip("-") != "name" for o in order):
        raise InvalidInput(
            f"Ordering with '{order[0].lstrip('-')}' is disallowed or the attribute does not "
            "exist on the model"
        )
    page = DagService(env).tags(
        tag_name_pattern, q.Paging(limit, offset, order), tag_name_prefix_pattern
    )
    return {"tags": page.items, "total_entries": page.total}


# -- tasks -------------------------------------------------------------------------------
_TASK_ORDER = {
    "task_id",
    "task_display_name",
    "operator_name",
    "owner",
    "pool",
    "queue",
    "priority_weight",
    "retries",
    "trigger_rule",
    "weight_rule",
}


@router.get("/dags/{dag_id}/tasks", response_model=s.TaskCollectionResponse, tags=["Task"])
def get_tasks(
    dag_id: str, env: EnvDep, _user: ReadDag, order_by: str = "task_id"
) -> s.TaskCollectionResponse:
    """Every task of a DAG's latest version."""
    field = order_by.lstrip("-")
    if field not in _TASK_ORDER:
        raise InvalidInput(f"Ordering with '{field}' is disallowed or the attribute does not exist")
    sdag = DagService(env).serialized(dag_id)
    tasks = [convert.task_response(t) for t in sdag.tasks.values()]
    tasks.sort(key=lambda t: str(getattr(t, field) or ""), reverse=order_by.startswith("-"))
    return s.TaskCollectionResponse(tasks=tasks, total_entries=len(tasks))


@router.get("/dags/{dag_id}/tasks/{task_id}", response_model=s.TaskResponse, tags=["Task"])
def get_task(dag_id: str, task_id: str, env: EnvDep, _user: ReadDag) -> s.TaskResponse:
    """One task of a DAG's latest version."""
    sdag = DagService(env).serialized(dag_id)
    task = sdag.tasks.get(task_id)
    if task is None:
        raise NotFound(f"Task with id {task_id!r} not found in DAG {dag_id!r}")
    return convert.task_response(task)


@router.get("/dagSources/{dag_id}", tags=["DagSource"])
def get_dag_source(
    dag_id: str,
    env: EnvDep,
    _user: ReadCode,
    version_number: int | None = None,
    accept: Annotated[str, Header()] = "application/json",
) -> Response:
    """The DAG file's source as the DAG processor stored it."""
    row, content, version = DagService(env).code(dag_id, version_number)
    if content is None:
        raise NotFound(f"The source of DAG {dag_id!r} was not stored")
    if "text/plain" in accept:
        return PlainTextResponse(content)
    body = {
        "content": content,
        "dag_id": dag_id,
        "version_number": version_number or (version.version_number if version else None),
        "dag_display_name": row.display_name or dag_id,
    }
    from fastapi.responses import JSONResponse

    return JSONResponse(body)
