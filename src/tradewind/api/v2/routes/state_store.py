"""``/assets/{asset_id}/state-store`` and ``.../taskInstances/{task_id}/state-store``: the
state store of Airflow 3.3, read and written through the API (tasks use the execution
API's ``state_*`` calls on the same entries). A task entry's ``expires_at: "default"`` applies ``[state_store]
default_retention_days`` when set, else the entry never expires."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime, JsonValue

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.api.v2.convert import aware
from tradewind.api.v2.params import Limit, Offset
from tradewind.api.v2.routes.task_instances import TI_PATH
from tradewind.api.v2.schemas import BaseSchema, StrictBaseSchema
from tradewind.core.permissions import Action, Resource
from tradewind.services import state_store as store
from tradewind.services.state_store import StateStoreService

router = APIRouter()

ReadAsset = Annotated[CurrentUser, permission(Resource.ASSET, Action.READ)]
EditAsset = Annotated[CurrentUser, permission(Resource.ASSET, Action.CREATE)]
DeleteAsset = Annotated[CurrentUser, permission(Resource.ASSET, Action.DELETE)]
ReadTi = Annotated[CurrentUser, permission(Resource.TASK_INSTANCE, Action.READ)]
EditTi = Annotated[CurrentUser, permission(Resource.TASK_INSTANCE, Action.EDIT)]
MapIndex = Annotated[int, Query(ge=-1)]
_ASSET = "/assets/{asset_id}/state-store"
_TASK = TI_PATH + "/{task_id}/state-store"


class AssetStateStoreBody(StrictBaseSchema):
    """The value to keep under a key."""

    value: JsonValue


class TaskStateStoreBody(StrictBaseSchema):
    """The value to keep under a key, and when it expires."""

    value: JsonValue
    expires_at: AwareDatetime | Literal["default"] | None = "default"


class TaskStateStorePatchBody(StrictBaseSchema):
    """The new value of an existing key."""

    value: JsonValue


class AssetStateStoreResponse(BaseSchema):
    """One key of an asset's state store."""

    key: str
    value: JsonValue
    updated_at: AwareDatetime
    last_updated_by: dict[str, Any] | None = None


class AssetStateStoreCollectionResponse(BaseSchema):
    """An asset's state store."""

    asset_state_store: list[AssetStateStoreResponse]
    total_entries: int


class TaskStateStoreResponse(BaseSchema):
    """One key of a task instance's state store."""

    key: str
    value: JsonValue
    updated_at: AwareDatetime
    expires_at: AwareDatetime | None


class TaskStateStoreCollectionResponse(BaseSchema):
    """A task instance's state store."""

    task_state_store: list[TaskStateStoreResponse]
    total_entries: int


def _asset_item(row: Any) -> AssetStateStoreResponse:
    return AssetStateStoreResponse(
        key=row.key, value=row.value, updated_at=aware(row.updated_at),
        last_updated_by={"kind": row.updated_by},
    )  # fmt: skip


@router.get(_ASSET, response_model=AssetStateStoreCollectionResponse, tags=["AssetStateStore"])
def list_asset_state_store(
    asset_id: int, env: EnvDep, _user: ReadAsset, limit: Limit = 50, offset: Offset = 0
) -> AssetStateStoreCollectionResponse:
    """Every key of an asset's state store."""
    rows, total = StateStoreService(env).entries(store.asset_owner(asset_id), limit, offset)
    items = [_asset_item(r) for r in rows]
    return AssetStateStoreCollectionResponse(asset_state_store=items, total_entries=total)


@router.delete(_ASSET, status_code=204, tags=["AssetStateStore"])
def clear_asset_state_store(asset_id: int, env: EnvDep, _user: DeleteAsset) -> Response:
    """Delete every key of an asset's state store."""
    StateStoreService(env).delete(store.asset_owner(asset_id))
    return Response(status_code=204)


@router.get(_ASSET + "/{key}", response_model=AssetStateStoreResponse, tags=["AssetStateStore"])
def get_asset_state_store(
    asset_id: int, key: str, env: EnvDep, _user: ReadAsset
) -> AssetStateStoreResponse:
    """One key of an asset's state store (404 when unset)."""
    return _asset_item(StateStoreService(env).entry(store.asset_owner(asset_id), key))


@router.put(_ASSET + "/{key}", status_code=204, tags=["AssetStateStore"])
def set_asset_state_store(
    asset_id: int, key: str, body: AssetStateStoreBody, env: EnvDep, _user: EditAsset
) -> Response:
    """Create or overwrite a key of an asset's state store."""
    StateStoreService(env).put(store.asset_owner(asset_id), key, body.value)
    return Response(status_code=204)


@router.delete(_ASSET + "/{key}", status_code=204, tags=["AssetStateStore"])
def delete_asset_state_store(asset_id: int, key: str, env: EnvDep, _user: DeleteAsset) -> Response:
    """Delete a key of an asset's state store (nothing to delete is fine)."""
    StateStoreService(env).delete(store.asset_owner(asset_id), key)
    return Response(status_code=204)


def _task_item(row: Any) -> TaskStateStoreResponse:
    return TaskStateStoreResponse(
        key=row.key, value=row.value, updated_at=aware(row.updated_at),
        expires_at=aware(row.expires_at),
    )  # fmt: skip


@router.get(_TASK, response_model=TaskStateStoreCollectionResponse, tags=["TaskStateStore"])
def list_task_state_store(
    dag_id: str, dag_run_id: str, task_id: str, env: EnvDep, _user: ReadTi,
    map_index: MapIndex = -1, limit: Limit = 50, offset: Offset = 0,
) -> TaskStateStoreCollectionResponse:  # fmt: skip
    """Every live key of a task instance's state store."""
    owner = store.task_owner(dag_id, dag_run_id, task_id, map_index)
    rows, total = StateStoreService(env).entries(owner, limit, offset, check=False)
    items = [_task_item(r) for r in rows]
    return TaskStateStoreCollectionResponse(task_state_store=items, total_entries=total)


@router.delete(_TASK, status_code=204, tags=["TaskStateStore"])
def clear_task_state_store(
    dag_id: str, dag_run_id: str, task_id: str, env: EnvDep, _user: EditTi,
    all_map_indices: bool = False, map_index: MapIndex = -1,
) -> Response:  # fmt: skip
    """Delete every key of a task instance's (or, ``all_map_indices``, the task's) store."""
    owner = store.task_owner(dag_id, dag_run_id, task_id, map_index)
    if all_map_indices:
        owner.pop("map_index")
    StateStoreService(env).delete(owner)
    return Response(status_code=204)


@router.get(_TASK + "/{key}", response_model=TaskStateStoreResponse, tags=["TaskStateStore"])
def get_task_state_store(
    dag_id: str, dag_run_id: str, task_id: str, key: str, env: EnvDep, _user: ReadTi,
    map_index: MapIndex = -1,
) -> TaskStateStoreResponse:  # fmt: skip
    """One live key of a task instance's state store (404 when unset or expired)."""
    owner = store.task_owner(dag_id, dag_run_id, task_id, map_index)
    return _task_item(StateStoreService(env).entry(owner, key))


@router.put(_TASK + "/{key}", status_code=204, tags=["TaskStateStore"])
def set_task_state_store(
    dag_id: str, dag_run_id: str, task_id: str, key: str, body: TaskStateStoreBody,
    env: EnvDep, _user: EditTi, map_index: MapIndex = -1,
) -> Response:  # fmt: skip
    """Create or overwrite a key of a task instance's state store."""
    service = StateStoreService(env)
    expires_at = service.default_expiry() if body.expires_at == "default" else body.expires_at
    owner = store.task_owner(dag_id, dag_run_id, task_id, map_index)
    service.put(owner, key, body.value, expires_at)
    return Response(status_code=204)


@router.patch(_TASK + "/{key}", tags=["TaskStateStore"])
def patch_task_state_store(
    dag_id: str, dag_run_id: str, task_id: str, key: str, body: TaskStateStorePatchBody,
    env: EnvDep, _user: EditTi, map_index: MapIndex = -1,
) -> Any:  # fmt: skip
    """Change the value of an existing key (its expiry stays; 404 when unset)."""
    owner = store.task_owner(dag_id, dag_run_id, task_id, map_index)
    row = StateStoreService(env).change(owner, key, body.value)
    return _task_item(row).model_dump(mode="json")


@router.delete(_TASK + "/{key}", status_code=204, tags=["TaskStateStore"])
def delete_task_state_store(
    dag_id: str, dag_run_id: str, task_id: str, key: str, env: EnvDep, _user: EditTi,
    map_index: MapIndex = -1,
) -> Response:  # fmt: skip
    """Delete a key of a task instance's state store (nothing to delete is fine)."""
    owner = store.task_owner(dag_id, dag_run_id, task_id, map_index)
    StateStoreService(env).delete(owner, key)
    return Response(status_code=204)
