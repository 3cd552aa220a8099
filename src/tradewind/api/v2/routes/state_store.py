"""``/assets/{asset_id}/state-store`` and ``.../taskInstances/{task_id}/state-store``: the
state store of Airflow 3.3, read and written through the API (tasks use the execution
API's ``state_*`` calls on the same entries). A task entry's ``expires_at: "default"`` applies ``[state_store]
default_retention_days`` when set, else the entry never expires."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime, JsonValue

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.api.v2.convert import aware
from tradewind.api.v2.params import Limit, Offset
from tradewind.api.v2.routes.task_instances import TI_PATH
from tradewind.api.v2.schemas import BaseSchema, StrictBaseSchema
from tradewind.core.permissions import Action, Resource
from tradewind.errors import NotFound
from tradewind.services import queries as q
from tradewind.services import state_store as store
from tradewind.services.queries import assets as aq

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


def _asset(env: Any, asset_id: int) -> dict[str, Any]:
    with env.db.session(readonly=True) as session:
        aq.get_asset(session, asset_id)  # NotFound
    return store.asset_owner(asset_id)


def _asset_item(row: Any) -> AssetStateStoreResponse:
    return AssetStateStoreResponse(
        key=row.key, value=row.value, updated_at=aware(row.updated_at),
        last_updated_by={"kind": row.updated_by},
    )  # fmt: skip


def _missing(key: str) -> NotFound:
    return NotFound(f"State store key `{key}` was not found")


@router.get(_ASSET, response_model=AssetStateStoreCollectionResponse, tags=["AssetStateStore"])
def list_asset_state_store(
    asset_id: int, env: EnvDep, _user: ReadAsset, limit: Limit = 50, offset: Offset = 0
) -> AssetStateStoreCollectionResponse:
    """Every key of an asset's state store."""
    owner = _asset(env, asset_id)
    with env.db.session(readonly=True) as session:
        rows, total = store.list_entries(session, owner, env.now(), limit, offset)
        items = [_asset_item(r) for r in rows]
    return AssetStateStoreCollectionResponse(asset_state_store=items, total_entries=total)


@router.delete(_ASSET, status_code=204, tags=["AssetStateStore"])
def clear_asset_state_store(asset_id: int, env: EnvDep, _user: DeleteAsset) -> Response:
    """Delete every key of an asset's state store."""
    owner = _asset(env, asset_id)
    with env.db.session() as session:
        store.delete_entries(session, owner)
    return Response(status_code=204)


@router.get(_ASSET + "/{key}", response_model=AssetStateStoreResponse, tags=["AssetStateStore"])
def get_asset_state_store(
    asset_id: int, key: str, env: EnvDep, _user: ReadAsset
) -> AssetStateStoreResponse:
    """One key of an asset's state store (404 when unset)."""
    owner = _asset(env, asset_id)
    with env.db.session(readonly=True) as session:
        row = store.get_entry(session, owner, key, env.now())
        if row is None:
            raise _missing(key)
        return _asset_item(row)


@router.put(_ASSET + "/{key}", status_code=204, tags=["AssetStateStore"])
def set_asset_state_store(
    asset_id: int, key: str, body: AssetStateStoreBody, env: EnvDep, _user: EditAsset
) -> Response:
    """Create or overwrite a key of an asset's state store."""
    owner = _asset(env, asset_id)
    with env.db.session() as session:
        store.set_entry(session, owner, key, body.value, env.now())
    return Response(status_code=204)


@router.delete(_ASSET + "/{key}", status_code=204, tags=["AssetStateStore"])
def delete_asset_state_store(asset_id: int, key: str, env: EnvDep, _user: DeleteAsset) -> Response:
    """Delete a key of an asset's state store (nothing to delete is fine)."""
    owner = _asset(env, asset_id)
    with env.db.session() as session:
        store.delete_entries(session, owner, key)
    return Response(status_code=204)


def _task(env: Any, dag_id: str, run_id: str, task_id: str, map_index: int) -> dict[str, Any]:
    with env.db.session(readonly=True) as session:
        q.get_task_instance(session, dag_id, run_id, task_id, map_index)  # NotFound
    return store.task_owner(dag_id, run_id, task_id, map_index)


def _task_item(row: Any) -> TaskStateStoreResponse:
    return TaskStateStoreResponse(
        key=row.key, value=row.value, updated_at=aware(row.updated_at),
        expires_at=aware(row.expires_at),
    )  # fmt: skip


def _expiry(env: Any, given: datetime | str | None) -> datetime | None:
    if given != "default":
        return given  # type: ignore[return-value]
    days = env.settings.values.get("state_store", {}).get("default_retention_days")
    return env.now() + timedelta(days=float(days)) if days not in (None, "") else None


@router.get(_TASK, response_model=TaskStateStoreCollectionResponse, tags=["TaskStateStore"])
def list_task_state_store(
    dag_id: str, dag_run_id: str, task_id: str, env: EnvDep, _user: ReadTi,
    map_index: MapIndex = -1, limit: Limit = 50, offset: Offset = 0,
) -> TaskStateStoreCollectionResponse:  # fmt: skip
    """Every live key of a task instance's state store."""
    owner = store.task_owner(dag_id, dag_run_id, task_id, map_index)
    with env.db.session(readonly=True) as session:
        rows, total = store.list_entries(session, owner, env.now(), limit, offset)
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
    else:
        _task(env, dag_id, dag_run_id, task_id, map_index)
    with env.db.session() as session:
        store.delete_entries(session, owner)
    return Response(status_code=204)


@router.get(_TASK + "/{key}", response_model=TaskStateStoreResponse, tags=["TaskStateStore"])
def get_task_state_store(
    dag_id: str, dag_run_id: str, task_id: str, key: str, env: EnvDep, _user: ReadTi,
    map_index: MapIndex = -1,
) -> TaskStateStoreResponse:  # fmt: skip
    """One live key of a task instance's state store (404 when unset or expired)."""
    owner = _task(env, dag_id, dag_run_id, task_id, map_index)
    with env.db.session(readonly=True) as session:
        row = store.get_entry(session, owner, key, env.now())
        if row is None:
            raise _missing(key)
        return _task_item(row)


@router.put(_TASK + "/{key}", status_code=204, tags=["TaskStateStore"])
def set_task_state_store(
    dag_id: str, dag_run_id: str, task_id: str, key: str, body: TaskStateStoreBody,
    env: EnvDep, _user: EditTi, map_index: MapIndex = -1,
) -> Response:  # fmt: skip
    """Create or overwrite a key of a task instance's state store."""
    owner = _task(env, dag_id, dag_run_id, task_id, map_index)
    with env.db.session() as session:
        store.set_entry(session, owner, key, body.value, env.now(), _expiry(env, body.expires_at))
    return Response(status_code=204)


@router.patch(_TASK + "/{key}", tags=["TaskStateStore"])
def patch_task_state_store(
    dag_id: str, dag_run_id: str, task_id: str, key: str, body: TaskStateStorePatchBody,
    env: EnvDep, _user: EditTi, map_index: MapIndex = -1,
) -> Any:  # fmt: skip
    """Change the value of an existing key (its expiry stays; 404 when unset)."""
    owner = _task(env, dag_id, dag_run_id, task_id, map_index)
    with env.db.session() as session:
        row = store.get_entry(session, owner, key, env.now())
        if row is None:
            raise _missing(key)
        row.value = body.value
        row.updated_at = env.now()
        return _task_item(row).model_dump(mode="json")


@router.delete(_TASK + "/{key}", status_code=204, tags=["TaskStateStore"])
def delete_task_state_store(
    dag_id: str, dag_run_id: str, task_id: str, key: str, env: EnvDep, _user: EditTi,
    map_index: MapIndex = -1,
) -> Response:  # fmt: skip
    """Delete a key of a task instance's state store (nothing to delete is fine)."""
    owner = _task(env, dag_id, dag_run_id, task_id, map_index)
    with env.db.session() as session:
        store.delete_entries(session, owner, key)
    return Response(status_code=204)
