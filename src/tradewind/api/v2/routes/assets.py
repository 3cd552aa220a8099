"""``/assets``: list and get assets, list and create asset events; a run's upstream events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from tradewind.api.deps import EnvDep, allowed
from tradewind.api.v2 import schemas_extra as sx
from tradewind.api.v2.convert import aware
from tradewind.api.v2.params import Limit, Offset, OrderBy
from tradewind.core.permissions import Action, Resource
from tradewind.services import queries as q
from tradewind.services.assets import AssetListing, AssetService, EventListing
from tradewind.services.queries import assets as aq

router = APIRouter(tags=["Asset"])

ReadAsset = allowed(Resource.ASSET, Action.READ)
CreateAsset = allowed(Resource.ASSET, Action.CREATE)
StrList = Annotated[list[str] | None, Query()]


def asset_response(
    row: Any,
    links: aq.AssetLinks,
    consumers: dict[int, list[Any]],
    last: dict[int, tuple[int, datetime]],
) -> sx.AssetResponse:
    """An asset with its consumers, producers and newest event."""

    def refs(found: dict[str, list[aq.TaskRef]], model: Any) -> list[Any]:
        return [
            model(dag_id=r.dag_id, task_id=r.task_id, created_at=aware(r.created_at),
                  updated_at=aware(r.created_at))
            for r in found.get(row.uri, [])
        ]  # fmt: skip

    newest = last.get(row.id)
    return sx.AssetResponse(
        id=row.id,
        name=row.name or row.uri,
        uri=row.uri,
        group=row.group or "asset",
        extra=row.extra or {},
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
        scheduled_dags=[
            sx.DagScheduleAssetReference(
                dag_id=r.dag_id, created_at=aware(r.created_at), updated_at=aware(r.created_at)
            )
            for r in consumers.get(row.id, [])
        ],
        producing_tasks=refs(links.producers, sx.TaskOutletAssetReference),
        consuming_tasks=refs(links.readers, sx.TaskInletAssetReference),
        aliases=[],
        watchers=[],
        last_asset_event=(
            sx.LastAssetEventResponse(id=newest[0], timestamp=aware(newest[1])) if newest else None
        ),
    )


def asset_page(found: AssetListing) -> list[sx.AssetResponse]:
    """Assets as API models (consumers and newest events: one query each for the page)."""
    return [asset_response(r, found.links, found.consumers, found.last) for r in found.items]


def event_page(found: EventListing) -> list[sx.AssetEventResponse]:
    """Asset events as API models, with the runs each one led to."""
    created = found.created
    out = []
    for event, asset in found.items:
        runs = [
            sx.DagRunAssetReference(
                run_id=c.run.run_id, dag_id=c.run.dag_id, logical_date=aware(c.run.logical_date),
                start_date=aware(c.run.start_date or c.run.queued_at or c.run.run_after),
                end_date=aware(c.run.end_date), state=c.run.state,
                data_interval_start=aware(c.run.data_interval_start),
                data_interval_end=aware(c.run.data_interval_end), partition_key=None,
                triggering=c.triggering,
            )
            for c in created.get(event.id, [])
        ]  # fmt: skip
        out.append(
            sx.AssetEventResponse(
                id=event.id,
                asset_id=event.asset_id,
                uri=asset.uri,
                name=asset.name or asset.uri,
                group=asset.group or "asset",
                extra=event.extra or {},
                source_task_id=event.source_task_id,
                source_dag_id=event.source_dag_id,
                source_run_id=event.source_run_id,
                source_map_index=event.source_map_index,
                created_dagruns=runs,
                timestamp=aware(event.timestamp),
                partition_key=None,
            )  # fmt: skip
        )
    return out


@router.get("/assets", response_model=sx.AssetCollectionResponse)
def get_assets(
    env: EnvDep,
    _user: ReadAsset,
    limit: Limit = 50,
    offset: Offset = 0,
    name_pattern: str | None = None,
    name_prefix_pattern: str | None = None,
    uri_pattern: str | None = None,
    uri_prefix_pattern: str | None = None,
    dag_ids: StrList = None,
    only_active: bool = True,
    order_by: OrderBy = None,
) -> sx.AssetCollectionResponse:
    """Assets, filtered by URI/name and by the DAGs that produce or consume them."""
    flt = aq.AssetFilter(
        uri_pattern=uri_pattern,
        uri_prefix_pattern=uri_prefix_pattern,
        name_pattern=name_pattern,
        name_prefix_pattern=name_prefix_pattern,
        dag_ids=tuple(dag_ids or ()),
        only_active=only_active,
    )
    page = AssetService(env).page(flt, q.Paging(limit, offset, tuple(order_by or ())))
    items = asset_page(page)
    return sx.AssetCollectionResponse(assets=items, total_entries=page.total)


@router.get("/assets/events", response_model=sx.AssetEventCollectionResponse)
def get_asset_events(
    env: EnvDep,
    _user: ReadAsset,
    limit: Limit = 50,
    offset: Offset = 0,
    order_by: OrderBy = None,
    asset_id: int | None = None,
    source_dag_id: str | None = None,
    source_task_id: str | None = None,
    source_run_id: str | None = None,
    source_map_index: int | None = None,
    name_pattern: str | None = None,
    name_prefix_pattern: str | None = None,
    timestamp_gte: datetime | None = None,
    timestamp_gt: datetime | None = None,
    timestamp_lte: datetime | None = None,
    timestamp_lt: datetime | None = None,
) -> sx.AssetEventCollectionResponse:
    """Asset events, filtered by asset and by the task run that emitted them."""
    bounds = {"gte": timestamp_gte, "gt": timestamp_gt, "lte": timestamp_lte, "lt": timestamp_lt}
    flt = aq.EventFilter(
        asset_id=asset_id,
        source_dag_id=source_dag_id,
        source_task_id=source_task_id,
        source_run_id=source_run_id,
        source_map_index=source_map_index,
        name_pattern=name_pattern,
        name_prefix_pattern=name_prefix_pattern,
        timestamp={k: aware(v) for k, v in bounds.items() if v is not None},
    )
    paging = q.Paging(limit, offset, tuple(order_by or ("timestamp",)))
    page = AssetService(env).events(flt, paging)
    items = event_page(page)
    return sx.AssetEventCollectionResponse(asset_events=items, total_entries=page.total)


@router.post("/assets/events", response_model=sx.AssetEventResponse)
def create_asset_event(
    body: sx.CreateAssetEventsBody, env: EnvDep, user: CreateAsset
) -> sx.AssetEventResponse:
    """Record an update of an asset by hand; the DAGs scheduled on it are queued to run."""
    (out,) = event_page(
        AssetService(env).record_event(body.asset_id, body.extra, user=user.username)
    )
    return out


@router.get("/assets/{asset_id}", response_model=sx.AssetResponse)
def get_asset(asset_id: int, env: EnvDep, _user: ReadAsset) -> sx.AssetResponse:
    """One asset."""
    return asset_page(AssetService(env).get(asset_id))[0]


@router.get(
    "/dags/{dag_id}/dagRuns/{dag_run_id}/upstreamAssetEvents",
    response_model=sx.AssetEventCollectionResponse,
)
def get_upstream_asset_events(
    dag_id: str, dag_run_id: str, env: EnvDep, _user: ReadAsset
) -> sx.AssetEventCollectionResponse:
    """The asset events that led to an asset-triggered run (empty for other runs)."""
    items = event_page(AssetService(env).upstream_events(dag_id, dag_run_id))
    return sx.AssetEventCollectionResponse(asset_events=items, total_entries=len(items))
