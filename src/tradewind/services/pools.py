"""Pools: named sets of slots that limit how many task instances run at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tradewind.core.states import TaskInstanceState as TI
from tradewind.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from tradewind.metastore.tables import Pool, TaskInstance
from tradewind.services.env import Env
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


_KEEP: Any = object()


class PoolService:
    """The pools' use cases, bound to the environment: the REST API, the UI and the CLI call
    these; each call is one transaction, event-logged with its user, and a change that may
    free slots wakes the schedulers."""

    def __init__(self, env: Env):
        self.env = env

    def ensure_default(self) -> None:
        """Create the ``default_pool`` if it is missing (after a migration or a reset)."""
        from tradewind.services.queueing import ensure_default_pool

        with self.env.db.session() as session:
            ensure_default_pool(session)

    def everything(self) -> list[PoolInfo]:
        """Every pool, by name, with its slot usage."""
        with self.env.db.session(readonly=True) as session:
            return list_pools(session)

    def table(self) -> list[dict[str, Any]]:
        """Every pool with the slots in use, as the UI's table shows it."""
        from tradewind.services.ui_queries import list_pools as pool_table

        with self.env.db.session(readonly=True) as session:
            return pool_table(session)

    def get(self, name: str) -> PoolInfo:
        """One pool; raise NotFound."""
        with self.env.db.session(readonly=True) as session:
            return get_pool(session, name)

    def create(
        self,
        name: str,
        slots: int,
        description: str = "",
        *,
        include_deferred: bool = False,
        user: str | None = None,
    ) -> PoolInfo:
        """Add a pool; raise AlreadyExists when the name is taken."""
        return self._set(name, slots, description, include_deferred, user, must_be_new=True)

    def put(
        self,
        name: str,
        slots: int,
        description: str = "",
        *,
        include_deferred: bool = False,
        user: str | None = None,
    ) -> PoolInfo:
        """Create or replace a pool (``tradewind pools set``); -1 slots means unlimited."""
        return self._set(name, slots, description, include_deferred, user, must_be_new=False)

    def _set(
        self,
        name: str,
        slots: int,
        description: str,
        include_deferred: bool,
        user: str | None,
        *,
        must_be_new: bool,
    ) -> PoolInfo:
        with self.env.db.session() as session:
            if must_be_new and session.scalar(select(Pool).where(Pool.pool == name)) is not None:
                raise AlreadyExists(f"The Pool with name: `{name}` already exists")
            info = set_pool(
                session, name, slots, description,
                include_deferred=include_deferred, now=self.env.now(), user=user,
            )  # fmt: skip
        self.env.wake()
        return info

    def update(
        self,
        name: str,
        *,
        slots: Any = _KEEP,
        description: Any = _KEEP,
        include_deferred: Any = _KEEP,
        user: str | None = None,
    ) -> PoolInfo:
        """Change some of a pool's settings (the others stay); raise NotFound."""
        with self.env.db.session() as session:
            current = get_pool(session, name)
            info = set_pool(
                session,
                name,
                current.slots if slots is _KEEP else slots,
                (current.description if description is _KEEP else description) or "",
                include_deferred=(
                    current.include_deferred if include_deferred is _KEEP else include_deferred
                ),
                now=self.env.now(),
                user=user,
            )
        self.env.wake()
        return info

    def delete(self, name: str, *, user: str | None = None) -> None:
        """Delete a pool; raise NotFound, or Conflict for the default pool."""
        with self.env.db.session() as session:
            delete_pool(session, name, now=self.env.now(), user=user)

    def export(self) -> dict[str, dict[str, Any]]:
        """Every pool in Airflow's JSON form."""
        with self.env.db.session(readonly=True) as session:
            return export_pools(session)

    def import_(self, data: Any, *, user: str | None = None) -> list[PoolInfo]:
        """Create or update pools from Airflow's JSON form (all checked before any write)."""
        with self.env.db.session() as session:
            done = import_pools(session, data, now=self.env.now(), user=user)
        self.env.wake()
        return done
