"""Assets: record updates (events) and queue the DAGs scheduled on them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from tradewind.metastore.tables import (
    AssetDagQueue,
    AssetEvent,
    AssetModel,
    DagModel,
    DagScheduleAssetReference,
)
from tradewind.services.env import Env

if TYPE_CHECKING:
    from tradewind.metastore.tables import DagRun
    from tradewind.services.listings import Labels


def record_asset_events(
    session: Session,
    *,
    uris: list[str],
    dag_id: str,
    task_id: str,
    run_id: str,
    now: datetime,
    events: list[dict[str, Any]] | None = None,
) -> None:
    """Record an event per updated asset and queue every DAG scheduled on it.

    ``uris`` get an event with no extra unless ``events`` gives one (``{"uri", "extra"}``);
    an entry of ``events`` with an ``alias`` records one more event of its asset, added
    through that alias, and queues the DAGs scheduled on the alias too.
    """
    reported = events or []
    extras = {e["uri"]: dict(e.get("extra") or {}) for e in reported if not e.get("alias")}
    todo = [(uri, extras.get(uri, {}), None) for uri in uris]
    todo += [(e["uri"], dict(e.get("extra") or {}), e["alias"]) for e in reported if e.get("alias")]
    alias_consumers: dict[str, list[str]] = {}
    for uri, extra, alias in todo:
        asset = _asset_row(session, uri, now)
        session.add(
            AssetEvent(
                asset_id=asset.id,
                extra=extra,
                source_dag_id=dag_id,
                source_task_id=task_id,
                source_run_id=run_id,
                source_map_index=-1,
                timestamp=now,
                source_alias_name=alias,
            )
        )
        consumers = set(
            session.execute(
                select(DagScheduleAssetReference.dag_id).where(
                    DagScheduleAssetReference.asset_id == asset.id
                )
            ).scalars()
        )
        if alias is not None:
            if not alias_consumers:
                alias_consumers = _alias_consumers(session)
            consumers.update(alias_consumers.get(alias, ()))
        for consumer in sorted(consumers):
            _queue_once(session, asset.id, consumer, now)


def _asset_row(session: Session, uri: str, now: datetime) -> AssetModel:
    asset = session.execute(select(AssetModel).where(AssetModel.uri == uri)).scalar_one_or_none()
    if asset is None:
        asset = AssetModel(
            uri=uri, name=uri, group="asset", extra={}, created_at=now, updated_at=now
        )
        session.add(asset)
        session.flush()
    return asset


def _alias_consumers(session: Session) -> dict[str, list[str]]:
    """alias name -> the active DAGs whose schedule names that alias."""
    from tradewind.sdk.assets import load_asset_condition

    out: dict[str, list[str]] = {}
    rows = session.execute(
        select(DagModel.dag_id, DagModel.asset_expression).where(
            DagModel.asset_expression.is_not(None), DagModel.is_active.is_(True)
        )
    ).all()
    for dag_id, expression in rows:
        if not expression:  # a JSON null is not an SQL NULL
            continue
        for name in load_asset_condition(expression).aliases():
            out.setdefault(name, []).append(dag_id)
    return out


def aliases_updated(session: Session, asset_ids: list[int], since: datetime | None) -> set[str]:
    """The aliases through which events of ``asset_ids`` were added (after ``since``)."""
    q = select(AssetEvent.source_alias_name).where(
        AssetEvent.asset_id.in_(asset_ids), AssetEvent.source_alias_name.is_not(None)
    )
    if since is not None:
        q = q.where(AssetEvent.timestamp >= since)
    return {str(name) for name in session.execute(q.distinct()).scalars()}


def _queue_once(session: Session, asset_id: int, dag_id: str, now: datetime) -> None:
    """Queue ``dag_id`` for ``asset_id`` unless already queued, race-free between producers."""
    table = cast(Table, AssetDagQueue.__table__)
    values = {"asset_id": asset_id, "target_dag_id": dag_id, "created_at": now}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(table).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(table).values(**values).on_conflict_do_nothing())
    elif session.get(AssetDagQueue, (asset_id, dag_id)) is None:
        session.add(AssetDagQueue(**values))


class AssetService:
    """The assets' use cases, bound to the environment; each call is one transaction."""

    def __init__(self, env: Env):
        self.env = env

    def queued(
        self, asset_id: int | None, dag_id: str | None, before: datetime | None
    ) -> tuple[list[AssetDagQueue], dict[str, str]]:
        """The queued updates of an asset and/or for a DAG (created before ``before``), by
        DAG and asset, and the display names of their DAGs."""
        from tradewind.services.asset_queue import queued_events
        from tradewind.services.queries import display_names

        with self.env.db.session(readonly=True) as session:
            rows = queued_events(session, asset_id, dag_id, before)
            return rows, display_names(session, [r.target_dag_id for r in rows])

    def forget_queued(
        self, asset_id: int | None, dag_id: str | None, before: datetime | None
    ) -> int:
        """Forget those queued updates; return how many there were."""
        from tradewind.services.asset_queue import delete_queued_events

        with self.env.db.session() as session:
            return delete_queued_events(session, asset_id, dag_id, before)

    def materialize(
        self, asset_id: int, *, user: str | None, **options: Any
    ) -> tuple[DagRun, Labels]:
        """Trigger a run (``options`` as :func:`runs.trigger_run`'s: conf, run_id,
        logical_date, note) of the one DAG whose task produces the asset, and wake the
        schedulers; return the run and its ``listings.Labels``. Raise NotFound (no such asset,
        or no DAG produces it), Conflict (several do)."""
        from tradewind.errors import Conflict, NotFound
        from tradewind.services.listings import labels_of
        from tradewind.services.queries import assets as aq
        from tradewind.services.runs import trigger_run

        with self.env.db.session() as session:
            uri = aq.get_asset(session, asset_id).uri
            links = aq.asset_links(session).producers.get(uri, [])
            producers = sorted({ref.dag_id for ref in links})
            if not producers:
                raise NotFound(f"No DAG materializes asset with ID: {asset_id}")
            if len(producers) > 1:
                raise Conflict(
                    f"More than one DAG materializes asset with ID: {asset_id}: "
                    f"{', '.join(producers)}"
                )
            run = trigger_run(
                session, producers[0], now=self.env.now(), logical_date_given=True,
                user=user, triggered_by="rest_api", **options,
            )  # fmt: skip
            session.flush()
            shown = run, labels_of(session, [run])
        self.env.wake()
        return shown

    def page(self, flt: Any, paging: Any) -> AssetListing:
        """One page of assets (``queries.assets.AssetFilter``, ``queries.Paging``) with the
        tasks updating and reading each, the DAGs scheduled on it and its newest event."""
        from tradewind.services.queries import assets as aq

        with self.env.db.session(readonly=True) as session:
            links = aq.asset_links(session)
            found = aq.list_assets(session, flt, paging, links)
            return _asset_listing(session, found.items, found.total, links)

    def get(self, asset_id: int) -> AssetListing:
        """One asset, as :meth:`page` shows it; raise NotFound."""
        from tradewind.services.queries import assets as aq

        with self.env.db.session(readonly=True) as session:
            row = aq.get_asset(session, asset_id)
            return _asset_listing(session, [row], 1, aq.asset_links(session))

    def events(self, flt: Any, paging: Any) -> EventListing:
        """One page of asset events (``queries.assets.EventFilter``) with the runs they led to."""
        from tradewind.services.queries import assets as aq

        with self.env.db.session(readonly=True) as session:
            found = aq.list_asset_events(session, flt, paging)
            return EventListing(found.items, found.total, aq.created_runs(session, found.items))

    def record_event(
        self, asset_id: int, extra: dict[str, Any], *, user: str | None
    ) -> EventListing:
        """Record an update of an asset by hand (the DAGs scheduled on it are queued), and
        wake the schedulers; return the event as :meth:`events` shows it."""
        from tradewind.services.edits import create_asset_event
        from tradewind.services.queries import assets as aq

        with self.env.db.session() as session:
            event = create_asset_event(session, asset_id, extra, now=self.env.now(), user=user)
            session.flush()
            rows = aq.event_rows(session, [event])
            shown = EventListing(rows, len(rows), aq.created_runs(session, rows))
        self.env.wake()
        return shown

    def upstream_events(self, dag_id: str, run_id: str) -> EventListing:
        """The asset events that led to an asset-triggered run (none for other runs); raise
        NotFound for an unknown run."""
        from tradewind.services.asset_scheduling import triggering_asset_events
        from tradewind.services.queries import assets as aq
        from tradewind.services.queries import get_dag_run

        with self.env.db.session(readonly=True) as session:
            get_dag_run(session, dag_id, run_id)
            rows = aq.event_rows(session, triggering_asset_events(session, dag_id, run_id))
            return EventListing(rows, len(rows), aq.created_runs(session, rows))


@dataclass(frozen=True)
class AssetListing:
    """Assets and, read with them, what is shown beside each (``queries.assets``)."""

    items: list[AssetModel]
    total: int
    links: Any  # AssetLinks: the tasks producing and reading each URI
    consumers: dict[int, list[Any]]  # asset id -> the DAGs scheduled on it
    last: dict[int, tuple[int, datetime]]  # asset id -> (id, timestamp) of its newest event


@dataclass(frozen=True)
class EventListing:
    """Asset events ``(event, asset)`` and the runs each one led to, by event id."""

    items: list[tuple[AssetEvent, AssetModel]]
    total: int
    created: dict[int, list[Any]]


def _asset_listing(session: Session, rows: list[Any], total: int, links: Any) -> AssetListing:
    from tradewind.services.queries import assets as aq

    ids = [r.id for r in rows]
    return AssetListing(
        rows, total, links, aq.scheduled_dags(session, ids), aq.last_events(session, ids)
    )
