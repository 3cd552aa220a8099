"""Keyset ("cursor") paging, as Airflow 3.3's ``cursor`` / ``next_cursor`` on the DAG-run and
task-instance lists.

A cursor is the sort values of the row at a page's edge, signed-free but opaque (base64 JSON),
plus the ordering it was made for. The next page is ``WHERE (sort values) > (cursor's)`` in the
requested order with ``id`` as the last tie-break, so rows inserted meanwhile never shift a
page: nothing is skipped or repeated, unlike ``OFFSET``. NULLs sort last ascending and first
descending on every database (an explicit IS NULL term), so the keyset comparison agrees with
the ORDER BY.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, false, func, or_, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from tradewind.errors import InvalidInput
from tradewind.services.queries.paging import order_clauses

#: ``total_entries`` under cursor paging counts at most this many rows (Airflow's cap).
TOTAL_ENTRIES_LIMIT = 10_000


@dataclass
class CursorPage:
    """One page of keyset paging."""

    items: list[Any]
    total: int
    next_cursor: str | None
    previous_cursor: str | None


def _encode(order: Sequence[str], values: list[Any], direction: str) -> str:
    packed = [{"dt": v.isoformat()} if isinstance(v, datetime) else v for v in values]
    raw = json.dumps({"o": list(order), "v": packed, "d": direction}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, order: Sequence[str]) -> tuple[list[Any], str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        values = [datetime.fromisoformat(v["dt"]) if isinstance(v, dict) else v for v in data["v"]]
        direction = data["d"]
        made_for = data["o"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidInput("Invalid cursor: pass an empty string or a next_cursor") from None
    if made_for != list(order) or len(values) != len(order) or direction not in ("next", "prev"):
        raise InvalidInput("Invalid cursor: it was made for another order_by")
    return values, direction


def _columns(order: Sequence[str], allowed: dict[str, Any]) -> list[tuple[Any, bool]]:
    order_clauses(order, allowed, order[0])  # 400 for an unknown field
    return [(allowed[name.lstrip("-")], name.startswith("-")) for name in order]


def _order_by(columns: list[tuple[Any, bool]], reverse: bool) -> list[Any]:
    terms = []
    for column, desc in columns:
        down = desc != reverse
        if getattr(column, "nullable", True):  # NOT NULL columns keep their index usable
            is_null = case((column.is_(None), 1), else_=0)
            terms.append(is_null.desc() if down else is_null.asc())
        terms.append(column.desc() if down else column)
    return terms


def _after(columns: list[tuple[Any, bool]], values: list[Any], reverse: bool) -> Any:
    """Rows strictly after ``values`` in the order (before it when ``reverse``)."""
    directions = {desc != reverse for _, desc in columns}
    plain = all(not getattr(c, "nullable", True) for c, _ in columns) and None not in values
    if plain and len(directions) == 1:
        # One row-value comparison, which an index on these columns serves directly.
        row, edge = tuple_(*(c for c, _ in columns)), tuple_(*values)
        return row < edge if directions.pop() else row > edge
    alternatives = []
    equal: list[Any] = []
    for (column, desc), value in zip(columns, values, strict=True):
        down = desc != reverse
        if value is None:
            # NULLs sort last going up, first going down: only non-NULLs can follow going down.
            beyond = column.is_not(None) if down else false()
            same = column.is_(None)
        else:
            beyond = (column < value) if down else or_(column > value, column.is_(None))
            same = column == value
        alternatives.append(and_(*equal, beyond))
        equal.append(same)
    return or_(*alternatives)


def _value(row: Any, column: Any) -> Any:
    owner = column.class_
    entity = next((r for r in row if isinstance(r, owner)), None) if isinstance(row, tuple) else row
    return getattr(entity, column.key)


def cursor_page(
    session: Session,
    query: Select[Any],
    where: Sequence[Any],
    order: Sequence[str],
    allowed: dict[str, Any],
    limit: int,
    cursor: str,
    *,
    scalars: bool = True,
) -> CursorPage:
    """The page after (or before) ``cursor``; ``""`` is the first page.

    ``order`` must end with a unique field (``id``), so every row has its own position.

    Raises:
        InvalidInput: a cursor that is not ours or was made for another ``order_by``.
    """
    columns = _columns(order, allowed)
    conditions = [c for c in where if c is not None]
    filtered = query.where(*conditions) if conditions else query
    capped = filtered.order_by(None).limit(TOTAL_ENTRIES_LIMIT).subquery()
    total = int(session.scalar(select(func.count()).select_from(capped)) or 0)
    values, direction = _decode(cursor, order) if cursor else ([], "next")
    reverse = direction == "prev"
    page_query = filtered
    if values:
        page_query = page_query.where(_after(columns, values, reverse))
    page_query = page_query.order_by(*_order_by(columns, reverse)).limit(max(limit, 0) + 1)
    result = session.execute(page_query)
    rows = list(result.scalars()) if scalars else [tuple(r) for r in result.all()]
    more = len(rows) > limit
    rows = rows[:limit]
    if reverse:
        rows.reverse()
    edge = [[_value(row, c) for c, _ in columns] for row in (rows[:1] + rows[-1:])] if rows else []
    has_next = more if not reverse else bool(values)
    has_prev = bool(values) if not reverse else more
    return CursorPage(
        items=rows,
        total=total,
        next_cursor=_encode(order, edge[-1], "next") if rows and has_next else None,
        previous_cursor=_encode(order, edge[0], "prev") if rows and has_prev else None,
    )
