"""Assets: record updates (events) and queue the DAGs scheduled on them."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from tradewind.metastore.tables import (
    AssetDagQueue,
    AssetEvent,
    AssetModel,
    DagScheduleAssetReference,
)


def record_asset_events(
    session: Session, *, uris: list[str], dag_id: str, task_id: str, run_id: str, now: datetime
) -> None:
    """Record an event per updated asset and queue every DAG scheduled on it."""
    for uri in uris:
        asset = session.execute(
            select(AssetModel).where(AssetModel.uri == uri)
        ).scalar_one_or_none()
        if asset is None:
            asset = AssetModel(
                uri=uri, name=uri, group="asset", extra={}, created_at=now, updated_at=now
            )
            session.add(asset)
            session.flush()
        session.add(
            AssetEvent(
                asset_id=asset.id,
                extra={},
                source_dag_id=dag_id,
                source_task_id=task_id,
                source_run_id=run_id,
                source_map_index=-1,
                timestamp=now,
            )
        )
        consumers = session.execute(
            select(DagScheduleAssetReference.dag_id).where(
                DagScheduleAssetReference.asset_id == asset.id
            )
        ).scalars()
        for consumer in consumers:
            _queue_once(session, asset.id, consumer, now)


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
