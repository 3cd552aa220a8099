"""Airflow 3.3's state store: small JSON values kept per asset or per task instance, read
and written through the REST API. Expired task entries are invisible and replaced on write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from tradewind.metastore.tables import StateStoreEntry as Entry


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
