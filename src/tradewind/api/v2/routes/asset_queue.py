"""Asset aliases, materializing an asset, and the queued asset events a consuming DAG has not run for yet
(per asset, per DAG, per DAG and asset; read and delete).

Registered before ``/assets/{asset_id}``, so ``/assets/aliases`` is never an asset id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from pydantic import AwareDatetime

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.api.v2 import schemas as s
from tradewind.api.v2 import schemas_catalog as sc
from tradewind.api.v2.convert import aware
from tradewind.api.v2.listed import run_of
from tradewind.api.v2.params import Limit, Offset, OrderBy
from tradewind.api.v2.schemas import StrictBaseSchema
from tradewind.core.permissions import Action, Resource
from tradewind.errors import InvalidInput, NotFound, PermissionDenied
from tradewind.services.assets import AssetService

router = APIRouter(tags=["Asset"])

ReadAlias = Annotated[CurrentUser, permission(Resource.ASSET_ALIAS, Action.READ)]
ReadAsset = Annotated[CurrentUser, permission(Resource.ASSET, Action.READ)]
DeleteAsset = Annotated[CurrentUser, permission(Resource.ASSET, Action.DELETE)]
CreateAsset = Annotated[CurrentUser, permission(Resource.ASSET, Action.CREATE)]


@router.get("/assets/aliases", response_model=sc.AssetAliasCollectionResponse)
def get_asset_aliases(
    _user: ReadAlias,
    limit: Limit = 50,
    offset: Offset = 0,
    name_pattern: str | None = None,
    name_prefix_pattern: str | None = None,
    order_by: OrderBy = None,
) -> sc.AssetAliasCollectionResponse:
    """Asset aliases: Tradewind's DAGs cannot declare any, so the list is empty."""
    for name in order_by or ["id"]:
        if name.lstrip("-") not in {"id", "name"}:
            raise InvalidInput(
                f"Ordering with '{name.lstrip('-')}' is disallowed or the attribute does not "
                "exist on the model"
            )
    return sc.AssetAliasCollectionResponse(asset_aliases=[], total_entries=0)


@router.get("/assets/aliases/{asset_alias_id}")
def get_asset_alias(asset_alias_id: int, _user: ReadAlias) -> Any:
    """One asset alias: always 404, as there are none."""
    raise NotFound(f"The Asset Alias with ID: `{asset_alias_id}` was not found")


def _before(before: str | None) -> datetime | None:
    if before is None or before == "":
        return None
    try:
        return aware(before.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"Invalid datetime for 'before': {before!r} (ISO 8601 expected)"
        ) from None


def _queued(
    env: Any, asset_id: int | None, dag_id: str | None, before: str | None
) -> list[sc.QueuedEventResponse]:
    rows, names = AssetService(env).queued(asset_id, dag_id, _before(before))
    return [
        sc.QueuedEventResponse(
            dag_id=r.target_dag_id,
            asset_id=r.asset_id,
            created_at=aware(r.created_at),
            dag_display_name=names[r.target_dag_id],
        )
        for r in rows
    ]


def _delete(env: Any, asset_id: int | None, dag_id: str | None, before: str | None) -> int:
    return AssetService(env).forget_queued(asset_id, dag_id, _before(before))


def _collection(items: list[sc.QueuedEventResponse], what: str) -> sc.QueuedEventCollectionResponse:
    if not items:
        raise NotFound(f"Queue event with {what} was not found")
    return sc.QueuedEventCollectionResponse(queued_events=items, total_entries=len(items))


@router.get("/assets/{asset_id}/queuedEvents", response_model=sc.QueuedEventCollectionResponse)
def get_asset_queued_events(
    asset_id: int, env: EnvDep, _user: ReadAsset, before: str | None = None
) -> sc.QueuedEventCollectionResponse:
    """The DAGs waiting to run for an update of this asset (404 when none)."""
    return _collection(_queued(env, asset_id, None, before), f"asset_id: `{asset_id}`")


@router.delete("/assets/{asset_id}/queuedEvents", status_code=204)
def delete_asset_queued_events(
    asset_id: int, env: EnvDep, _user: DeleteAsset, before: str | None = None
) -> Response:
    """Forget this asset's queued updates for every DAG (404 when there were none)."""
    if not _delete(env, asset_id, None, before):
        raise NotFound(f"Queue event with asset_id: `{asset_id}` was not found")
    return Response(status_code=204)


@router.get("/dags/{dag_id}/assets/queuedEvents", response_model=sc.QueuedEventCollectionResponse)
def get_dag_asset_queued_events(
    dag_id: str, env: EnvDep, _user: ReadAsset, before: str | None = None
) -> sc.QueuedEventCollectionResponse:
    """The asset updates this DAG has not run for yet (404 when none)."""
    return _collection(_queued(env, None, dag_id, before), f"dag_id: `{dag_id}`")


@router.delete("/dags/{dag_id}/assets/queuedEvents", status_code=204)
def delete_dag_asset_queued_events(
    dag_id: str, env: EnvDep, _user: DeleteAsset, before: str | None = None
) -> Response:
    """Forget every asset update queued for this DAG (404 when there were none)."""
    if not _delete(env, None, dag_id, before):
        raise NotFound(f"Queue event with dag_id: `{dag_id}` was not found")
    return Response(status_code=204)


@router.get("/dags/{dag_id}/assets/{asset_id}/queuedEvents", response_model=sc.QueuedEventResponse)
def get_dag_asset_queued_event(
    dag_id: str, asset_id: int, env: EnvDep, _user: ReadAsset, before: str | None = None
) -> sc.QueuedEventResponse:
    """The queued update of one asset for one DAG."""
    found = _queued(env, asset_id, dag_id, before)
    if not found:
        raise NotFound(
            f"Queued event with dag_id: `{dag_id}` and asset_id: `{asset_id}` was not found"
        )
    return found[0]


@router.delete("/dags/{dag_id}/assets/{asset_id}/queuedEvents", status_code=204)
def delete_dag_asset_queued_event(
    dag_id: str, asset_id: int, env: EnvDep, _user: DeleteAsset, before: str | None = None
) -> Response:
    """Forget the queued update of one asset for one DAG."""
    if not _delete(env, asset_id, dag_id, before):
        raise NotFound(
            f"Queued event with dag_id: `{dag_id}` and asset_id: `{asset_id}` was not found"
        )
    return Response(status_code=204)


class MaterializeAssetBody(StrictBaseSchema):
    """Options of the run that materializes an asset (all optional)."""

    dag_run_id: str | None = None
    data_interval_start: AwareDatetime | None = None
    data_interval_end: AwareDatetime | None = None
    logical_date: AwareDatetime | None = None
    run_after: AwareDatetime | None = None
    conf: dict[str, Any] | None = None
    note: str | None = None
    partition_key: str | None = None


@router.post("/assets/{asset_id}/materialize", response_model=s.DAGRunResponse)
def materialize_asset(
    asset_id: int,
    env: EnvDep,
    user: CreateAsset,
    body: Annotated[MaterializeAssetBody | None, Body()] = None,
) -> s.DAGRunResponse:
    """Trigger a run of the one DAG whose task produces the asset (404 none, 409 several)."""
    body = body or MaterializeAssetBody()
    if not user.can(Resource.DAG_RUN, Action.CREATE):
        raise PermissionDenied("Forbidden: materializing an asset triggers a DAG run")
    run, labels = AssetService(env).materialize(
        asset_id, user=user.username, conf=body.conf, run_id=body.dag_run_id,
        logical_date=body.logical_date, note=body.note,
    )  # fmt: skip
    return run_of(run, labels)
