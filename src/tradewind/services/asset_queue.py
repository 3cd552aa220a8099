"""Queued asset events: the consuming DAGs still waiting to run for an asset update."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tradewind.metastore.tables import AssetDagQueue


def _where(asset_id: int | None, dag_id: str | None, before: datetime | None) -> list[Any]:
    where: list[Any] = []
    if asset_id is not None:
        where.append(AssetDagQueue.asset_id == asset_id)
    if dag_id is not None:
        where.append(AssetDagQueue.target_dag_id == dag_id)
    if before is not None:
        where.append(AssetDagQueue.created_at < before)
    return where


def queued_events(
    session: Session, asset_id: int | None, dag_id: str | None, before: datetime | None
) -> list[AssetDagQueue]:
    """The queue rows of an asset and/or a DAG (created before ``before``), by DAG, asset."""
    query = select(AssetDagQueue).where(*_where(asset_id, dag_id, before))
    order = (AssetDagQueue.target_dag_id, AssetDagQueue.asset_id)
    return list(session.scalars(query.order_by(*order)))


def delete_queued_events(
    session: Session, asset_id: int | None, dag_id: str | None, before: datetime | None
) -> int:
    """Forget those queue rows; how many there were."""
    result = session.execute(delete(AssetDagQueue).where(*_where(asset_id, dag_id, before)))
    return int(getattr(result, "rowcount", 0) or 0)
