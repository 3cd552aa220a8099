"""XCom: small JSON values passed between tasks."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tradewind.core.execution import ALL_MAP_INDEXES
from tradewind.errors import InvalidInput, XComTooLarge
from tradewind.metastore.tables import XCom
from tradewind.services.env import Env


def encode(value: Any, max_size: int) -> str:
    """JSON-encode ``value``; refuse what is not JSON or is larger than ``max_size`` bytes."""
    try:
        text = json.dumps(value, default=_default)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"XCom values must be JSON-serializable ({exc}); return plain data "
            "(dicts, lists, strings, numbers) or store large data elsewhere and pass its path"
        ) from None
    if max_size and len(text) > max_size:
        raise XComTooLarge(
            f"XCom value is {len(text):,} bytes, over the limit of {max_size:,} bytes "
            "([core] max_xcom_size); store the data elsewhere and pass a reference"
        )
    return text


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def set_xcom(
    session: Session,
    *,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int,
    key: str,
    value: Any,
    now: datetime,
    max_size: int = 0,
) -> None:
    """Store (or replace) one XCom value."""
    try:
        text = encode(value, max_size)
    except XComTooLarge as exc:
        index = f" (map index {map_index})" if map_index >= 0 else ""
        raise XComTooLarge(f"task {task_id!r}{index}, key {key!r}: {exc}") from None
    row = session.get(XCom, (dag_id, run_id, task_id, map_index, key))
    if row is None:
        session.add(
            XCom(
                dag_id=dag_id,
                run_id=run_id,
                task_id=task_id,
                map_index=map_index,
                key=key,
                value=text,
                timestamp=now,
            )
        )
    else:
        row.value = text
        row.timestamp = now


def get_xcom(
    session: Session, *, dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1
) -> tuple[bool, Any]:
    """Return (found, value) for one XCom; with ``ALL_MAP_INDEXES`` the values of every
    instance of a mapped task, as a list in map-index order."""
    if map_index == ALL_MAP_INDEXES:
        rows = session.execute(
            select(XCom.value)
            .where(
                XCom.dag_id == dag_id,
                XCom.run_id == run_id,
                XCom.task_id == task_id,
                XCom.key == key,
                XCom.map_index >= 0,
            )
            .order_by(XCom.map_index)
        ).scalars()
        return True, [json.loads(v) for v in rows]
    row = session.execute(
        select(XCom.value).where(
            XCom.dag_id == dag_id,
            XCom.run_id == run_id,
            XCom.task_id == task_id,
            XCom.key == key,
            XCom.map_index == map_index,
        )
    ).scalar_one_or_none()
    if row is None:
        return False, None
    return True, json.loads(row)


def clear_xcoms(
    session: Session,
    dag_id: str,
    run_id: str,
    task_ids: list[str],
    map_indexes: dict[str, list[int]] | None = None,
) -> None:
    """Delete the XComs of those tasks in that run (before they run again); with
    ``map_indexes``, only those instances' of each task."""
    if map_indexes is not None:
        for task_id in task_ids:
            indexes = sorted(set(map_indexes.get(task_id, [])))
            for i in range(0, len(indexes), 500):
                session.execute(
                    delete(XCom).where(
                        XCom.dag_id == dag_id,
                        XCom.run_id == run_id,
                        XCom.task_id == task_id,
                        XCom.map_index.in_(indexes[i : i + 500]),
                    )
                )
        return
    for i in range(0, len(task_ids), 500):
        session.execute(
            delete(XCom).where(
                XCom.dag_id == dag_id,
                XCom.run_id == run_id,
                XCom.task_id.in_(task_ids[i : i + 500]),
            )
        )


class XComService:
    """The XComs' use cases, bound to the environment; each call is one transaction."""

    def __init__(self, env: Env):
        self.env = env

    def browse(self, *, limit: int, offset: int, **filters: str) -> tuple[list[XCom], bool]:
        """XComs, newest first, filtered by ``dag_id``, ``run_id``, ``task_id`` and ``key``;
        ``limit`` from ``offset``, and whether there are more."""
        from tradewind.services.queries.dag_views import browse_xcoms

        with self.env.db.session(readonly=True) as session:
            return browse_xcoms(session, limit=limit, offset=offset, **filters)
