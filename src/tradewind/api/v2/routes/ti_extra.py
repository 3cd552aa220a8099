"""A task instance's scheduling dependencies and extra links."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.api.v2 import schemas_catalog as sc
from tradewind.api.v2.routes.task_instances import TI_PATH
from tradewind.core.permissions import Action, Resource
from tradewind.services.task_instance_service import TaskInstanceService

router = APIRouter(tags=["Task Instance"])

ReadTi = Annotated[CurrentUser, permission(Resource.TASK_INSTANCE, Action.READ)]


@router.get(TI_PATH + "/{task_id}/dependencies", response_model=sc.TaskDependencyCollectionResponse)
def get_task_instance_dependencies(
    dag_id: str, dag_run_id: str, task_id: str, env: EnvDep, _user: ReadTi, map_index: int = -1
) -> sc.TaskDependencyCollectionResponse:
    """What keeps a task instance (no state or ``scheduled``) from being scheduled."""
    deps = TaskInstanceService(env).dependencies(dag_id, dag_run_id, task_id, map_index)
    return sc.TaskDependencyCollectionResponse.model_validate({"dependencies": deps})


@router.get(
    TI_PATH + "/{task_id}/links",
    response_model=sc.ExtraLinkCollectionResponse,
    tags=["Extra Links"],
)
def get_extra_links(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    env: EnvDep,
    _user: ReadTi,
    map_index: int = -1,
    try_number: int | None = None,
) -> sc.ExtraLinkCollectionResponse:
    """A task instance's extra links; Tradewind's operators define none, so it is empty."""
    TaskInstanceService(env).with_run(dag_id, dag_run_id, task_id, map_index)  # NotFound
    return sc.ExtraLinkCollectionResponse(extra_links={}, total_entries=0)
