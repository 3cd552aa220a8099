"""XCom: small JSON values passed between tasks."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tradewind.core.execution import ALL_MAP_INDEXES
from tradewind.errors import InvalidInput, XComTooLarge
from tradewind.metastore.tables import DagRun, XCom
from tradewind.services.env import Env
from tradewind.services.queries.paging import Page


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

    def page(
        self, where: list[Any], paging: Any
    ) -> tuple[Page[tuple[XCom, DagRun]], dict[str, str]]:
        """One page (``queries.Paging``) of ``(xcom, run)`` rows matching ``where`` (values
        not decoded), and the display names of their DAGs."""
        from tradewind.services.queries import display_names, list_xcoms

        with self.env.db.session(readonly=True) as session:
            page = list_xcoms(session, where, paging)
            return page, display_names(session, (x.dag_id for x, _ in page.items))

    def entry(
        self, dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1
    ) -> tuple[XCom, DagRun, dict[str, str]]:
        """One entry with its run and the display name of its DAG; raise NotFound."""
        with self.env.db.session(readonly=True) as session:
            return _entry(session, dag_id, run_id, task_id, key, map_index)

    def write(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        key: str,
        value: Any,
        map_index: int = -1,
        *,
        create: bool,
        user: str | None = None,
    ) -> tuple[XCom, DagRun, dict[str, str]]:
        """Create (raise AlreadyExists if present) or replace (raise NotFound if absent) an
        entry by hand, event-logged with ``user``; the entry as stored, as :meth:`entry`."""
        from tradewind.services.edits import write_xcom

        max_size = int(self.env.settings.get("core", "max_xcom_size"))
        with self.env.db.session() as session:
            write_xcom(
                session, dag_id, run_id, task_id, key, value, map_index, create=create,
                now=self.env.now(), user=user, max_size=max_size,
            )  # fmt: skip
            session.flush()
            session.expire_all()  # read it back as stored, as a later read would
            return _entry(session, dag_id, run_id, task_id, key, map_index)

    def delete(
        self, dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1,
        *, user: str | None = None,
    ) -> None:  # fmt: skip
        """Delete an entry, event-logged with ``user``; raise NotFound."""
        from tradewind.services.edits import delete_xcom

        with self.env.db.session() as session:
            delete_xcom(
                session, dag_id, run_id, task_id, key, map_index, now=self.env.now(), user=user
            )


def _entry(
    session: Session, dag_id: str, run_id: str, task_id: str, key: str, map_index: int
) -> tuple[XCom, DagRun, dict[str, str]]:
    from tradewind.services.queries import display_names, get_xcom_row

    row, run = get_xcom_row(session, dag_id, run_id, task_id, key, map_index)
    return row, run, display_names(session, [row.dag_id])
