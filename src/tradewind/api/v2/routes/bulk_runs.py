"""Bulk and group actions on runs and task instances: ``PATCH .../dagRuns`` and
``PATCH .../taskInstances`` (Airflow's bulk bodies; update and delete, create refused),
``POST /dags/{dag_id}/clearDagRuns``, ``POST /dags/{dag_id}/clearPartitions`` and
``PATCH .../taskGroupInstances/{group_id}[/dry_run]``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from tradewind.api.deps import CurrentUser, EnvDep, UserDep, permission
from tradewind.api.v2 import schemas as s
from tradewind.api.v2 import schemas_bulk as b
from tradewind.api.v2.bulk import BulkTarget, check_bulk_permissions, run_bulk
from tradewind.api.v2.listed import runs_of, tis_of
from tradewind.api.v2.params import UpdateMask, check_mask
from tradewind.api.v2.routes.task_instances import TI_PATH, _patch
from tradewind.core.permissions import Action, Resource
from tradewind.errors import InvalidInput, NotFound
from tradewind.services import edits, runs
from tradewind.services import queries as q
from tradewind.services import task_instances as ti_service
from tradewind.services.bulk import BulkService
from tradewind.services.run_service import RunService

router = APIRouter()

EditRun = Annotated[CurrentUser, permission(Resource.DAG_RUN, Action.EDIT)]
EditTi = Annotated[CurrentUser, permission(Resource.TASK_INSTANCE, Action.EDIT)]


def _no_create(kind: str) -> Any:
    def refuse(session: Any, body: Any) -> None:
        raise InvalidInput(f"Creating {kind} in bulk is not supported")

    return refuse


def _run_target(env: Any, user: str, path_dag: str) -> BulkTarget:
    def ids(entity: Any) -> tuple[str, str]:
        if isinstance(entity, str):
            return path_dag, entity
        dag_id = entity.dag_id or path_dag
        if dag_id == q.WILDCARD:
            raise InvalidInput(f"dag_id is required for run {entity.dag_run_id!r} with dag_id ~")
        return dag_id, entity.dag_run_id

    def exists(session: Any, key: str) -> bool:
        dag_id, _, run_id = key.partition("/")
        try:
            runs.get_run(session, dag_id, run_id)
        except NotFound:
            return False
        return True

    def update(session: Any, body: b.BulkDAGRunBody, fields: set[str] | None) -> None:
        dag_id, run_id = ids(body)
        fields = fields or body.model_fields_set
        if "state" in fields and body.state is not None:
            ti_service.set_run_state(
                session, dag_id, run_id, body.state.value, now=env.now(), user=user
            )
        if "note" in fields:
            edits.set_run_note(session, dag_id, run_id, body.note, now=env.now(), user=user)

    def delete(session: Any, key: str) -> None:
        dag_id, _, run_id = key.partition("/")
        edits.delete_run(session, dag_id, run_id, now=env.now(), user=user)

    return BulkTarget(
        noun="dag runs",
        key_name="dag_id/dag_run_ids",
        resource=Resource.DAG_RUN,
        key_of=lambda entity: "/".join(ids(entity)),
        exists=exists,
        create=_no_create("DAG runs"),
        update=update,
        delete=delete,
        check_mask=lambda mask: check_mask(mask, {"state", "note"}),
        key_of_str=lambda run_id: f"{path_dag}/{run_id}",
    )


@router.patch("/dags/{dag_id}/dagRuns", response_model=b.BulkResponse, tags=["DagRun"])
def bulk_dag_runs(
    dag_id: str, body: b.BulkBody[b.BulkDAGRunBody], env: EnvDep, user: UserDep
) -> b.BulkResponse:
    """Mark (state, note) and delete runs in one request; keys are ``dag_id/dag_run_id``."""
    check_bulk_permissions(user, body, Resource.DAG_RUN)
    target = _run_target(env, user.username, dag_id)
    return BulkService(env).apply(lambda session: run_bulk(session, body, target), wake=True)


def _ti_target(env: Any, user: str, path_dag: str, path_run: str) -> BulkTarget:
    def ids(entity: Any) -> tuple[str, str, str, int]:
        if isinstance(entity, str):
            return path_dag, path_run, entity, -1
        dag_id, run_id = entity.dag_id or path_dag, entity.dag_run_id or path_run
        if q.WILDCARD in (dag_id, run_id):
            raise InvalidInput(f"dag_id and dag_run_id are required for task {entity.task_id!r}")
        index = -1 if entity.map_index is None else entity.map_index
        return dag_id, run_id, entity.task_id, index

    def key_of(entity: Any) -> str:
        dag_id, run_id, task_id, index = ids(entity)
        return f"{dag_id}/{run_id}/{task_id}" + ("" if index == -1 else f"[{index}]")

    def parse(key: str) -> tuple[str, str, str, int]:
        dag_id, run_id, rest = key.split("/", 2)
        task_id, _, index = rest.partition("[")
        return dag_id, run_id, task_id, int(index.rstrip("]")) if index else -1

    def exists(session: Any, key: str) -> bool:
        try:
            q.get_task_instance(session, *parse(key))
        except NotFound:
            return False
        return True

    def update(session: Any, body: b.BulkTaskInstanceBody, fields: set[str] | None) -> None:
        dag_id, run_id, task_id, index = ids(body)
        fields = fields or body.model_fields_set
        if "new_state" in fields and body.new_state is not None:
            ti_service.set_ti_state(
                session, dag_id, run_id, task_id, body.new_state.value, now=env.now(),
                user=user, downstream=body.include_downstream, upstream=body.include_upstream,
                map_index=index,
            )  # fmt: skip
        if "note" in fields:
            edits.set_ti_note(
                session, dag_id, run_id, task_id, index, body.note, now=env.now(), user=user
            )

    def delete(session: Any, key: str) -> None:
        edits.delete_task_instance(session, *parse(key), now=env.now(), user=user)

    return BulkTarget(
        noun="task instances",
        key_name="keys",
        resource=Resource.TASK_INSTANCE,
        key_of=key_of,
        exists=exists,
        create=_no_create("task instances"),
        update=update,
        delete=delete,
        check_mask=lambda mask: check_mask(mask, {"new_state", "note"}),
        key_of_str=lambda task_id: f"{path_dag}/{path_run}/{task_id}",
    )


@router.patch(TI_PATH, response_model=b.BulkResponse, tags=["Task Instance"])
def bulk_task_instances(
    dag_id: str,
    dag_run_id: str,
    body: b.BulkBody[b.BulkTaskInstanceBody],
    env: EnvDep,
    user: UserDep,
) -> b.BulkResponse:
    """Mark (state, note) and delete task instances in one request; keys are
    ``dag_id/dag_run_id/task_id`` (``[map_index]`` appended for a mapped one)."""
    check_bulk_permissions(user, body, Resource.TASK_INSTANCE)
    target = _ti_target(env, user.username, dag_id, dag_run_id)
    return BulkService(env).apply(lambda session: run_bulk(session, body, target), wake=True)


@router.post(
    "/dags/{dag_id}/clearDagRuns",
    response_model=s.ClearTaskInstanceCollectionResponse | s.DAGRunCollectionResponse,
    tags=["DagRun"],
)
def clear_dag_runs(dag_id: str, body: b.BulkDAGRunClearBody, env: EnvDep, user: EditRun) -> Any:
    """Clear several runs of a DAG (``dry_run``, the default, lists the task instances).
    Runs are chosen by ``dag_runs``; Tradewind's runs have no partition, so a partition
    selector matches none."""
    partitioned = body.partition_key or body.partition_date_start or body.partition_date_end
    if not body.dag_runs and not partitioned:
        raise InvalidInput("Select the runs to clear with dag_runs or a partition selector")
    run_ids = [] if partitioned else [r.dag_run_id for r in body.dag_runs]
    service = RunService(env)
    if body.dry_run:
        rows, labels = service.clear_runs_preview(dag_id, run_ids, only_failed=body.only_failed)
        items = tis_of(rows, labels)
        return s.ClearTaskInstanceCollectionResponse(task_instances=items, total_entries=len(items))
    return runs_of(
        service.clear_runs(
            dag_id, run_ids, only_failed=body.only_failed, note=body.note, user=user.username
        )
    )


@router.post(
    "/dags/{dag_id}/clearPartitions", response_model=b.ClearPartitionsResponse, tags=["DagRun"]
)
def clear_dag_run_partitions(
    dag_id: str, body: b.ClearPartitionsBody, env: EnvDep, _user: EditRun
) -> b.ClearPartitionsResponse:
    """Reset the partition fields of matching runs: Tradewind has no partitioned timetables,
    so no run has a partition and none is changed (404 for an unknown DAG or run)."""
    RunService(env).check(dag_id, body.run_id)
    return b.ClearPartitionsResponse(
        dag_runs_cleared=0, task_instances_cleared=0, dry_run=body.dry_run
    )


def _group_tasks(env: Any, dag_id: str, run_id: str, group_id: str) -> list[str]:
    dag = RunService(env).version_of(dag_id, run_id)
    inside = [
        task_id
        for task_id, task in dag.tasks.items()
        if (gid := task.data.get("task_group_id"))
        and (gid == group_id or gid.startswith(group_id + "."))
    ]
    if not inside:
        raise NotFound(f"Task group {group_id} not found in DAG {dag_id}")
    return sorted(inside)


def _patch_group(
    env: Any, user: Any, dag_id: str, run_id: str, group_id: str,
    body: s.PatchTaskInstanceBody, update_mask: list[str] | None, dry_run: bool,
) -> s.TaskInstanceCollectionResponse:  # fmt: skip
    seen: dict[tuple[str, int], Any] = {}
    for task_id in _group_tasks(env, dag_id, run_id, group_id):
        try:
            page = _patch(env, user, dag_id, run_id, task_id, -1, body, update_mask, dry_run)
        except NotFound:
            continue  # a task added to the group after this run was created
        for item in page.task_instances:
            seen.setdefault((item.task_id, item.map_index), item)
    items = list(seen.values())
    return s.TaskInstanceCollectionResponse(task_instances=items, total_entries=len(items))


_GROUP = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskGroupInstances/{group_id}"


@router.patch(
    _GROUP + "/dry_run", response_model=s.TaskInstanceCollectionResponse, tags=["Task Instance"]
)
def patch_task_group_instances_dry_run(
    dag_id: str, dag_run_id: str, group_id: str, body: s.PatchTaskInstanceBody,
    env: EnvDep, user: EditTi,
) -> s.TaskInstanceCollectionResponse:  # fmt: skip
    """What marking every task instance of a task group would change, changing nothing."""
    return _patch_group(env, user, dag_id, dag_run_id, group_id, body, None, True)


@router.patch(_GROUP, response_model=s.TaskInstanceCollectionResponse, tags=["Task Instance"])
def patch_task_group_instances(
    dag_id: str, dag_run_id: str, group_id: str, body: s.PatchTaskInstanceBody,
    env: EnvDep, user: EditTi, update_mask: UpdateMask = None,
) -> s.TaskInstanceCollectionResponse:  # fmt: skip
    """Mark every task instance of a task group (nested groups included) and/or set notes."""
    return _patch_group(env, user, dag_id, dag_run_id, group_id, body, update_mask, False)
