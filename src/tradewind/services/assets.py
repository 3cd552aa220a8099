"""Assets: record updates (events) and queue the DAGs scheduled on them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
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
            if session.get(AssetDagQueue, (asset.id, consumer)) is None:
                session.add(
                    AssetDagQueue(asset_id=asset.id, target_dag_id=consumer, created_at=now)
                )
