"""Pools: named sets of slots that limit how many task instances run at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tradewind.core.states import TaskInstanceState as TI
from tradewind.errors import Conflict, InvalidInput, NotFound
from tradewind.metastore.tables import Pool, TaskInstance
from tradewind.services.event_log import log_event
from tradewind.services.queueing import DEFAULT_POOL as DEFAULT_POOL


@dataclass(frozen=True)
class PoolInfo:
    """One pool with its slot usage."""

    name: str
    slots: int
    description: str
    include_deferred: bool
    running: int = 0
    queued: int = 0
    scheduled: int = 0
    deferred: int = 0

    @property
    def open_slots(self) -> int:
        used = self.running + self.queued + (self.deferred if self.include_deferred else 0)
        return self.slots - used if self.slots >= 0 else -1


def _usage(session: Session) -> dict[tuple[str, str | None], int]:
    rows = session.execute(
        select(TaskInstance.pool, TaskInstance.state, func.sum(TaskInstance.pool_slots))
        .where(
            TaskInstance.state.in_(
                [TI.RUNNING.value, TI.QUEUED.value, TI.SCHEDULED.value, TI.DEFERRED.value]
            )
        )
        .group_by(TaskInstance.pool, TaskInstance.state)
    ).all()
    return {(pool, state): int(n or 0) for pool, state, n in rows}


def _info(row: Pool, usage: dict[tuple[str, str | None], int]) -> PoolInfo:
    def used(state: TI) -> int:
        return usage.get((row.pool, state.value), 0)

    return PoolInfo(
        name=row.pool,
        slots=row.slots,
        description=row.description or "",
        include_deferred=row.include_deferred,
        running=used(TI.RUNNING),
        queued=used(TI.QUEUED),
        scheduled=used(TI.SCHEDULED),
        deferred=used(TI.DEFERRED),
    )


def list_pools(session: Session) -> list[PoolInfo]:
    """Return every pool, by name, with its slot usage."""
    usage = _usage(session)
    return [_info(p, usage) for p in session.scalars(select(Pool).order_by(Pool.pool))]


def get_pool(session: Session, name: str) -> PoolInfo:
    """Return one pool; raise NotFound if it does not exist."""
    row = session.scalar(select(Pool).where(Pool.pool == name))
    if row is None:
        raise NotFound(f"pool {name!r} not found")
    return _info(row, _usage(session))


def set_pool(
    session: Session,
    name: str,
    slots: int,
    description: str = "",
    *,
    include_deferred: bool = False,
    now: datetime,
    user: str | None = None,
) -> PoolInfo:
    """Create or update a pool (Airflow's ``pools set``); -1 slots means unlimited."""
    if not name or not name.strip():
        raise InvalidInput("a pool name must not be empty")
    if slots < -1:
        raise InvalidInput(f"pool {name!r}: slots must be -1 (unlimited) or more, got {slots}")
    row = session.scalar(select(Pool).where(Pool.pool == name))
    if row is None:
        row = Pool(pool=name)
        session.add(row)
    row.slots = slots
    row.description = description
    row.include_deferred = include_deferred
    session.flush()
    log_event(session, "pool_set", now=now, owner=user, extra={"pool": name, "slots": slots})
    return _info(row, _usage(session))


def delete_pool(session: Session, name: str, *, now: datetime, user: str | None = None) -> None:
    """Delete a pool; the default pool cannot be deleted."""
    if name == DEFAULT_POOL:
        raise Conflict(f"{DEFAULT_POOL} cannot be deleted")
    row = session.scalar(select(Pool).where(Pool.pool == name))
    if row is None:
        raise NotFound(f"pool {name!r} not found")
    session.delete(row)
    log_event(session, "pool_delete", now=now, owner=user, extra={"pool": name})


def export_pools(session: Session) -> dict[str, dict[str, Any]]:
    """Return every pool in Airflow's JSON form: ``{name: {slots, description, include_deferred}}``."""
    return {
        p.name: {
            "slots": p.slots,
            "description": p.description,
            "include_deferred": p.include_deferred,
        }
        for p in list_pools(session)
    }


def import_pools(
    session: Session, data: Any, *, now: datetime, user: str | None = None
) -> list[PoolInfo]:
    """Create or update pools from Airflow's JSON form; validates everything before writing."""
    if not isinstance(data, dict):
        raise InvalidInput('pools file must hold a JSON object: {"name": {"slots": N, ...}}')
    checked: list[tuple[str, int, str, bool]] = []
    for name, spec in data.items():
        if not isinstance(spec, dict) or "slots" not in spec:
            raise InvalidInput(f"pool {name!r}: expected an object with a 'slots' key")
        try:
            slots = int(spec["slots"])
        except (TypeError, ValueError):
            raise InvalidInput(f"pool {name!r}: slots must be an integer") from None
        desc = str(spec.get("description") or "")
        checked.append((name, slots, desc, bool(spec.get("include_deferred", False))))
    return [
        set_pool(session, n, s, d, include_deferred=inc, now=now, user=user)
        for n, s, d, inc in checked
    ]
