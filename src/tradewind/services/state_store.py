"""Airflow 3.3's state store: small JSON values kept per asset or per task instance, read
and written through the REST API. Expired task entries are invisible and replaced on write."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from tradewind.errors import NotFound
from tradewind.metastore.tables import StateStoreEntry as Entry
from tradewind.services.env import Env


def asset_owner(asset_id: int) -> dict[str, Any]:
    """The owner columns of an asset's entries."""
    return {"kind": "asset", "asset_id": asset_id}


def task_owner(dag_id: str, run_id: str, task_id: str, map_index: int) -> dict[str, Any]:
    """The owner columns of a task instance's entries."""
    return {"kind": "task", "dag_id": dag_id, "run_id": run_id, "task_id": task_id,
            "map_index": map_index}  # fmt: skip


def _where(owner: dict[str, Any], now: datetime) -> list[Any]:
    terms = [getattr(Entry, name) == value for name, value in owner.items()]
    terms.append(or_(Entry.expires_at.is_(None), Entry.expires_at > now))
    return terms


def list_entries(
    session: Session, owner: dict[str, Any], now: datetime, limit: int, offset: int
) -> tuple[list[Entry], int]:
    """A page of an owner's live entries, by key, and how many there are."""
    where = _where(owner, now)
    total = int(session.scalar(select(func.count()).select_from(Entry).where(*where)) or 0)
    rows = session.scalars(
        select(Entry).where(*where).order_by(Entry.key).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def get_entry(session: Session, owner: dict[str, Any], key: str, now: datetime) -> Entry | None:
    """An owner's live entry for ``key``."""
    return session.scalar(select(Entry).where(*_where(owner, now), Entry.key == key))


def set_entry(
    session: Session,
    owner: dict[str, Any],
    key: str,
    value: Any,
    now: datetime,
    expires_at: datetime | None = None,
) -> None:
    """Create or overwrite ``key`` (an expired entry of that key is replaced)."""
    row = session.scalar(
        select(Entry).where(*[getattr(Entry, n) == v for n, v in owner.items()], Entry.key == key)
    )
    if row is None:
        row = Entry(**owner, key=key)
        session.add(row)
    row.value = value
    row.updated_at = now
    row.expires_at = expires_at
    row.updated_by = "api"


def delete_entries(session: Session, owner: dict[str, Any], key: str | None = None) -> int:
    """Delete an owner's entry for ``key``, or all of them; how many went."""
    terms = [getattr(Entry, n) == v for n, v in owner.items()]
    if key is not None:
        terms.append(Entry.key == key)
    return int(session.execute(delete(Entry).where(*terms)).rowcount or 0)  # type: ignore[attr-defined]


class StateStoreService:
    """The state store as the REST API reads and writes it, bound to the environment; each
    call is one transaction. ``owner`` is :func:`asset_owner` or :func:`task_owner` (without
    ``map_index``: every instance of the task); the asset or task instance it names is
    checked to exist first (raise NotFound) unless ``check`` is False."""

    def __init__(self, env: Env):
        self.env = env

    def _check(self, session: Session, owner: dict[str, Any]) -> None:
        from tradewind.services.queries import get_task_instance
        from tradewind.services.queries.assets import get_asset

        if owner["kind"] == "asset":
            get_asset(session, owner["asset_id"])
        elif "map_index" in owner:
            keys = ("dag_id", "run_id", "task_id", "map_index")
            get_task_instance(session, *(owner[k] for k in keys))

    def default_expiry(self) -> datetime | None:
        """When a task entry written now expires by default: ``[state_store]
        default_retention_days`` from now when set, else never (None)."""
        days = self.env.settings.values.get("state_store", {}).get("default_retention_days")
        return self.env.now() + timedelta(days=float(days)) if days not in (None, "") else None

    def entries(
        self, owner: dict[str, Any], limit: int, offset: int, *, check: bool = True
    ) -> tuple[list[Entry], int]:
        """A page of the owner's live entries, by key, and how many there are."""
        with self.env.db.session(readonly=True) as session:
            if check:
                self._check(session, owner)
            return list_entries(session, owner, self.env.now(), limit, offset)

    def entry(self, owner: dict[str, Any], key: str) -> Entry:
        """The owner's live entry for ``key``; raise NotFound."""
        with self.env.db.session(readonly=True) as session:
            self._check(session, owner)
            return _live(session, owner, key, self.env.now())

    def put(
        self, owner: dict[str, Any], key: str, value: Any, expires_at: datetime | None = None
    ) -> None:
        """Create or overwrite ``key``."""
        with self.env.db.session() as session:
            self._check(session, owner)
            set_entry(session, owner, key, value, self.env.now(), expires_at)

    def change(self, owner: dict[str, Any], key: str, value: Any) -> Entry:
        """Change the value of a live entry (its expiry stays); raise NotFound."""
        with self.env.db.session() as session:
            self._check(session, owner)
            row = _live(session, owner, key, self.env.now())
            row.value = value
            row.updated_at = self.env.now()
            return row

    def delete(self, owner: dict[str, Any], key: str | None = None, *, check: bool = True) -> int:
        """Delete the owner's entry for ``key``, or all of them (nothing is fine); how many."""
        with self.env.db.session() as session:
            if check:
                self._check(session, owner)
            return delete_entries(session, owner, key)


def _live(session: Session, owner: dict[str, Any], key: str, now: datetime) -> Entry:
    row = get_entry(session, owner, key, now)
    if row is None:
        raise NotFound(f"State store key `{key}` was not found")
    return row
