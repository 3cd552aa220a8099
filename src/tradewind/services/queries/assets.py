"""Asset queries: assets with their producers and consumers, events, the runs they created.

Who consumes an asset is a table (``dag_schedule_asset_reference``); who produces or reads one
is only in the serialized DAGs (a task's ``outlets``/``inlets``). Those are found with one
pass over the latest versions whose JSON has a non-empty ``outlets``/``inlets`` list, so only
the few producing DAGs are decoded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, func, or_, select
from sqlalchemy.orm import Session

from tradewind.core.states import DagRunType
from tradewind.errors import NotFound
from tradewind.metastore.tables import (
    AssetEvent,
    AssetModel,
    DagModel,
    DagRun,
    DagScheduleAssetReference,
    SerializedDagModel,
)
from tradewind.services.queries.paging import (
    Page,
    Paging,
    paged,
    pattern_clause,
    prefix_clause,
    range_clauses,
)

ASSET_ORDER = {
    "id": AssetModel.id,
    "name": AssetModel.name,
    "uri": AssetModel.uri,
    "created_at": AssetModel.created_at,
    "updated_at": AssetModel.updated_at,
}
EVENT_ORDER = {
    "id": AssetEvent.id,
    "source_task_id": AssetEvent.source_task_id,
    "source_dag_id": AssetEvent.source_dag_id,
    "source_run_id": AssetEvent.source_run_id,
    "source_map_index": AssetEvent.source_map_index,
    "timestamp": AssetEvent.timestamp,
}


@dataclass(frozen=True)
class TaskRef:
    """A task naming an asset in its outlets or inlets, in a DAG's latest version."""

    dag_id: str
    task_id: str
    created_at: datetime


@dataclass
class AssetLinks:
    """Which tasks produce (outlets) and read (inlets) each asset URI."""

    producers: dict[str, list[TaskRef]] = field(default_factory=dict)
    readers: dict[str, list[TaskRef]] = field(default_factory=dict)

    def uris_of(self, dag_ids: Iterable[str]) -> set[str]:
        """URIs that tasks of these DAGs produce or read."""
        wanted = set(dag_ids)
        return {
            uri
            for links in (self.producers, self.readers)
            for uri, refs in links.items()
            if any(r.dag_id in wanted for r in refs)
        }


#: ``(dag_id, version hash) -> (task_id, outlets, inlets)`` of its tasks that name assets.
#: A version hash is its content, so an entry never goes stale; read once per process.
_TASK_ASSETS: dict[tuple[str, str], tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]] = {}
_CACHE_LIMIT = 50_000


def _task_assets(data: dict[str, Any]) -> tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]:
    return tuple(
        (task["task_id"], tuple(task.get("outlets") or ()), tuple(task.get("inlets") or ()))
        for task in data.get("tasks", [])
        if task.get("outlets") or task.get("inlets")
    )


def _read_task_assets(session: Session, missing: list[tuple[str, str]]) -> None:
    """Fill the cache for these versions; only JSON naming outlets or inlets is decoded."""
    text = cast(SerializedDagModel.data, Text)
    names_assets = or_(text.like('%"outlets": ["%'), text.like('%"inlets": ["%'))
    if len(_TASK_ASSETS) + len(missing) > _CACHE_LIMIT:
        _TASK_ASSETS.clear()
    for i in range(0, len(missing), 500):
        chunk = missing[i : i + 500]
        rows = session.execute(
            select(SerializedDagModel.dag_id, SerializedDagModel.version_hash,
                   SerializedDagModel.data)
            .where(
                SerializedDagModel.dag_id.in_(sorted({d for d, _ in chunk})),
                SerializedDagModel.version_hash.in_(sorted({v for _, v in chunk})),
                names_assets,
            )
        )  # fmt: skip
        found = {(d, v): _task_assets(data) for d, v, data in rows}
        for key in chunk:
            _TASK_ASSETS[key] = found.get(key, ())


def asset_links(session: Session) -> AssetLinks:
    """Producers and readers of every asset, from the active DAGs' latest versions.

    The versions' task lists come from a per-process cache keyed by version hash, so a
    request reads one row per active DAG (no JSON) once every version has been seen.
    """
    latest = list(
        session.execute(
            select(DagModel.dag_id, DagModel.latest_version, SerializedDagModel.created_at)
            .join(
                SerializedDagModel,
                (DagModel.dag_id == SerializedDagModel.dag_id)
                & (DagModel.latest_version == SerializedDagModel.version_hash),
            )
            .where(DagModel.is_active.is_(True))
            .order_by(DagModel.dag_id)
        )
    )
    missing = [(d, v) for d, v, _ in latest if (d, v) not in _TASK_ASSETS]
    if missing:
        _read_task_assets(session, missing)
    out = AssetLinks()
    for dag_id, version, created in latest:
        for task_id, outlets, inlets in _TASK_ASSETS.get((dag_id, version), ()):
            ref = TaskRef(dag_id, task_id, created)
            for uri in outlets:
                out.producers.setdefault(uri, []).append(ref)
            for uri in inlets:
                out.readers.setdefault(uri, []).append(ref)
    return out


@dataclass(frozen=True)
class AssetFilter:
    """Filters of ``GET /assets``."""

    uri_pattern: str | None = None
    uri_prefix_pattern: str | None = None
    name_pattern: str | None = None
    name_prefix_pattern: str | None = None
    dag_ids: Sequence[str] = ()
    only_active: bool = True

    def conditions(self, links: AssetLinks) -> list[Any]:
        """The WHERE terms; ``links`` gives the URIs that DAGs produce or read."""
        out = [
            pattern_clause(AssetModel.uri, self.uri_pattern),
            prefix_clause(AssetModel.uri, self.uri_prefix_pattern),
            pattern_clause(AssetModel.name, self.name_pattern),
            prefix_clause(AssetModel.name, self.name_prefix_pattern),
        ]
        if self.dag_ids:
            out.append(_referenced(links.uris_of(self.dag_ids), self.dag_ids))
        if self.only_active:
            dag_ids = select(DagModel.dag_id).where(DagModel.is_active.is_(True))
            out.append(_referenced(set(links.producers) | set(links.readers), dag_ids))
        return out


def _referenced(uris: set[str], dag_ids: Any) -> Any:
    """Assets scheduled on by ``dag_ids`` or whose URI is in ``uris``."""
    scheduled = select(DagScheduleAssetReference.asset_id).where(
        DagScheduleAssetReference.dag_id.in_(dag_ids)
    )
    return or_(AssetModel.id.in_(scheduled), AssetModel.uri.in_(sorted(uris)))


def list_assets(session: Session, flt: AssetFilter, paging: Paging, links: AssetLinks) -> Page[Any]:
    """A page of assets."""
    return paged(session, select(AssetModel), flt.conditions(links), paging, ASSET_ORDER, "id")


def get_asset(session: Session, asset_id: int) -> AssetModel:
    """One asset, or NotFound."""
    row = session.get(AssetModel, asset_id)
    if row is None:
        raise NotFound(f"The Asset with ID: `{asset_id}` was not found")
    return row


def scheduled_dags(
    session: Session, asset_ids: Iterable[int]
) -> dict[int, list[DagScheduleAssetReference]]:
    """``asset_id -> references of the DAGs scheduled on it``."""
    ids = sorted(set(asset_ids))
    out: dict[int, list[DagScheduleAssetReference]] = {i: [] for i in ids}
    if ids:
        query = select(DagScheduleAssetReference).where(DagScheduleAssetReference.asset_id.in_(ids))
        for ref in session.scalars(query.order_by(DagScheduleAssetReference.dag_id)):
            out[ref.asset_id].append(ref)
    return out


def last_events(session: Session, asset_ids: Iterable[int]) -> dict[int, tuple[int, datetime]]:
    """``asset_id -> (id, timestamp)`` of its newest event."""
    ids = sorted(set(asset_ids))
    if not ids:
        return {}
    newest = (
        select(func.max(AssetEvent.id))
        .where(AssetEvent.asset_id.in_(ids))
        .group_by(AssetEvent.asset_id)
    )
    rows = session.execute(
        select(AssetEvent.asset_id, AssetEvent.id, AssetEvent.timestamp).where(
            AssetEvent.id.in_(newest)
        )
    )
    return {a: (i, t) for a, i, t in rows}


@dataclass(frozen=True)
class EventFilter:
    """Filters of ``GET /assets/events``."""

    asset_id: int | None = None
    source_dag_id: str | None = None
    source_task_id: str | None = None
    source_run_id: str | None = None
    source_map_index: int | None = None
    name_pattern: str | None = None
    name_prefix_pattern: str | None = None
    timestamp: dict[str, datetime | None] = field(default_factory=dict)

    def conditions(self) -> list[Any]:
        """The WHERE terms."""
        out: list[Any] = []
        for column, value in (
            (AssetEvent.asset_id, self.asset_id),
            (AssetEvent.source_dag_id, self.source_dag_id),
            (AssetEvent.source_task_id, self.source_task_id),
            (AssetEvent.source_run_id, self.source_run_id),
            (AssetEvent.source_map_index, self.source_map_index),
        ):
            if value is not None:
                out.append(column == value)
        out.append(pattern_clause(AssetModel.name, self.name_pattern))
        out.append(prefix_clause(AssetModel.name, self.name_prefix_pattern))
        out.extend(range_clauses(AssetEvent.timestamp, **self.timestamp))
        return out


EventRow = tuple[AssetEvent, AssetModel]


def event_query() -> Any:
    """Asset events joined with their asset."""
    return select(AssetEvent, AssetModel).join(AssetModel, AssetModel.id == AssetEvent.asset_id)


def list_asset_events(session: Session, flt: EventFilter, paging: Paging) -> Page[EventRow]:
    """A page of asset events with their assets."""
    return paged(
        session, event_query(), flt.conditions(), paging, EVENT_ORDER, "timestamp", scalars=False
    )


def event_rows(session: Session, events: Iterable[AssetEvent]) -> list[EventRow]:
    """Events with their assets (for events read elsewhere)."""
    events = list(events)
    ids = {e.asset_id for e in events}
    assets = {a.id: a for a in session.scalars(select(AssetModel).where(AssetModel.id.in_(ids)))}
    return [(e, assets[e.asset_id]) for e in events if e.asset_id in assets]


@dataclass(frozen=True)
class CreatedRun:
    """A run an asset event led to, and whether this event was the one that triggered it."""

    run: DagRun
    triggering: bool


def created_runs(session: Session, rows: Sequence[EventRow]) -> dict[int, list[CreatedRun]]:
    """``event id -> asset-triggered runs that consumed it``.

    A consumer's run consumed an event when it is the DAG's first asset-triggered run created
    at or after the event; the run's triggering event is its newest consumed one.
    """
    consumers = scheduled_dags(session, (a.id for _, a in rows))
    out: dict[int, list[CreatedRun]] = {}
    for event, asset in rows:
        found: list[CreatedRun] = []
        for ref in consumers.get(asset.id, []):
            run = session.scalar(
                select(DagRun)
                .where(
                    DagRun.dag_id == ref.dag_id,
                    DagRun.run_type == DagRunType.ASSET_TRIGGERED.value,
                    DagRun.logical_date >= event.timestamp,
                )
                .order_by(DagRun.logical_date)
                .limit(1)
            )
            if run is not None:
                found.append(CreatedRun(run, _is_newest(session, ref.dag_id, event, run)))
        out[event.id] = found
    return out


def _is_newest(session: Session, dag_id: str, event: AssetEvent, run: DagRun) -> bool:
    """Whether no later event of the DAG's assets was consumed by the same run."""
    later = session.scalar(
        select(AssetEvent.id)
        .where(
            AssetEvent.asset_id.in_(
                select(DagScheduleAssetReference.asset_id).where(
                    DagScheduleAssetReference.dag_id == dag_id
                )
            ),
            AssetEvent.timestamp <= run.run_after,
            or_(
                AssetEvent.timestamp > event.timestamp,
                (AssetEvent.timestamp == event.timestamp) & (AssetEvent.id > event.id),
            ),
        )
        .limit(1)
    )
    return later is None


def newest_event_id(session: Session, asset_id: int) -> int | None:
    """The id of an asset's newest event."""
    return session.scalar(select(func.max(AssetEvent.id)).where(AssetEvent.asset_id == asset_id))


def get_event(session: Session, event_id: int) -> AssetEvent:
    """One asset event, or NotFound."""
    row = session.get(AssetEvent, event_id)
    if row is None:
        raise NotFound(f"The asset event {event_id} was not found")
    return row


def scheduled_uris(session: Session, dag_ids: Sequence[str]) -> dict[str, list[str]]:
    """``dag_id -> URIs of the assets it is scheduled on``, sorted."""
    if not dag_ids:
        return {}
    rows = session.execute(
        select(DagScheduleAssetReference.dag_id, AssetModel.uri)
        .join(AssetModel, AssetModel.id == DagScheduleAssetReference.asset_id)
        .where(DagScheduleAssetReference.dag_id.in_(list(dag_ids)))
        .order_by(AssetModel.uri)
    )
    out: dict[str, list[str]] = {}
    for dag_id, uri in rows:
        out.setdefault(dag_id, []).append(uri)
    return out
