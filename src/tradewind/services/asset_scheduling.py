"""Data-aware scheduling: run a DAG when the assets of its ``schedule`` were updated.

A successful task with outlets records an asset event and queues every consuming DAG in
``asset_dag_run_queue`` (see :mod:`tradewind.services.assets`). Each scheduler pass calls
:func:`create_asset_triggered_runs`, which evaluates each consuming DAG's condition
(``a & b``, ``a | b``) over its queued assets and, when it holds, creates one run and deletes
the consumed queue rows in the same transaction. The DAG's row is locked (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL) and the delete must remove exactly the rows read, so two schedulers
never create two runs for one update.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, select
from sqlalchemy.orm import Session

from tradewind.core.states import DagRunType
from tradewind.errors import AlreadyExists, Conflict
from tradewind.metastore.tables import (
    AssetDagQueue,
    AssetEvent,
    AssetModel,
    DagModel,
    DagRun,
    DagScheduleAssetReference,
)
from tradewind.sdk.assets import ALIAS_KEY, load_asset_condition
from tradewind.services.assets import aliases_updated
from tradewind.services.runs import create_run, run_id_for


def _consumers(session: Session) -> list[DagModel]:
    q = (
        select(DagModel)
        .where(
            DagModel.asset_expression.is_not(None),
            DagModel.is_active.is_(True),
            DagModel.is_paused.is_(False),
            DagModel.dag_id.in_(select(AssetDagQueue.target_dag_id).distinct()),
        )
        .order_by(DagModel.dag_id)
    )
    if session.get_bind().dialect.name in ("postgresql", "mysql"):
        q = q.with_for_update(skip_locked=True, of=DagModel)
    return list(session.execute(q).scalars())


def create_asset_triggered_runs(session: Session, cache: Any, now: datetime) -> int:
    """Create one asset-triggered run per DAG whose asset condition holds; return how many.

    Args:
        session: a unit of work (committed by the caller).
        cache: the scheduler's DagCache (``cache.get(session, dag_id, version)``).
        now: the current time (the run's logical date and ``run_after``).
    """
    created = 0
    for dag in _consumers(session):
        queued = session.execute(
            select(AssetDagQueue.asset_id, AssetDagQueue.created_at, AssetModel.uri)
            .join(AssetModel, AssetModel.id == AssetDagQueue.asset_id)
            .where(AssetDagQueue.target_dag_id == dag.dag_id)
        ).all()
        updated = {uri for _, _, uri in queued}
        condition = load_asset_condition(dag.asset_expression or {}) if updated else None
        if condition is not None and condition.aliases():
            since = min(c for _, c, _ in queued)
            names = aliases_updated(session, [a for a, _, _ in queued], since)
            updated |= {ALIAS_KEY + n for n in names}
        if condition is None or not condition.evaluate(updated):
            continue
        try:
            with session.begin_nested():
                _consume(session, dag.dag_id, [(a, c) for a, c, _ in queued])
                sdag = cache.get(session, dag.dag_id, dag.latest_version)
                create_run(
                    session,
                    sdag,
                    run_id=run_id_for(DagRunType.ASSET_TRIGGERED, now),
                    run_type=DagRunType.ASSET_TRIGGERED,
                    logical_date=now,
                    data_interval=None,
                    run_after=now,
                    conf={},
                    now=now,
                    triggered_by="asset",
                )
        except (Conflict, AlreadyExists):
            continue  # another scheduler consumed this update; nothing to do
        created += 1
    return created


def _consume(session: Session, dag_id: str, rows: list[tuple[int, datetime]]) -> None:
    """Delete exactly the queue rows read; fewer means another scheduler took them."""
    for asset_id, created_at in rows:
        gone = session.execute(  # type: ignore[attr-defined]
            delete(AssetDagQueue)
            .where(
                and_(
                    AssetDagQueue.asset_id == asset_id,
                    AssetDagQueue.target_dag_id == dag_id,
                    AssetDagQueue.created_at == created_at,
                )
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if gone != 1:
            raise Conflict(f"the asset queue of {dag_id} changed meanwhile")


def triggering_asset_events(session: Session, dag_id: str, run_id: str) -> list[AssetEvent]:
    """The asset events that led to an asset-triggered run.

    Those of the DAG's scheduled assets recorded after the previous asset-triggered run of
    the DAG was created and up to this one.
    """
    run = session.execute(
        select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
    ).scalar_one_or_none()
    if run is None or run.run_type != DagRunType.ASSET_TRIGGERED.value:
        return []
    prev = session.execute(
        select(DagRun.run_after)
        .where(
            DagRun.dag_id == dag_id,
            DagRun.run_type == DagRunType.ASSET_TRIGGERED.value,
            DagRun.run_after < run.run_after,
        )
        .order_by(DagRun.run_after.desc())
        .limit(1)
    ).scalar_one_or_none()
    q = select(AssetEvent).where(
        AssetEvent.asset_id.in_(
            select(DagScheduleAssetReference.asset_id).where(
                DagScheduleAssetReference.dag_id == dag_id
            )
        ),
        AssetEvent.timestamp <= run.run_after,
    )
    if prev is not None:
        q = q.where(AssetEvent.timestamp > prev)
    return list(session.execute(q.order_by(AssetEvent.timestamp)).scalars())
