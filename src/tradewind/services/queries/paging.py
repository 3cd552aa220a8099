"""Paging, ordering and pattern filters shared by the API's list queries.

Every list is one ``SELECT ... LIMIT/OFFSET`` on indexed columns plus one ``COUNT`` of the
same filter (``total_entries``), never a load of a whole table. Ordering follows Airflow's
``order_by`` parameter: field names, ``-`` for descending, unknown names refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from tradewind.errors import InvalidInput

T = TypeVar("T")
WILDCARD = "~"


@dataclass
class Page(Generic[T]):
    """One page of results and how many match in all."""

    items: list[T]
    total: int


@dataclass(frozen=True)
class Paging:
    """``limit``/``offset``/``order_by`` as the API receives them."""

    limit: int = 50
    offset: int = 0
    order_by: Sequence[str] = ()


def order_clauses(order_by: Sequence[str], allowed: dict[str, Any], default: str) -> list[Any]:
    """SQL ORDER BY terms for ``order_by`` (``-x`` = descending), with a stable tie-break.

    Raises:
        InvalidInput: a field that is not in ``allowed`` (Airflow answers 400).
    """
    terms: list[Any] = []
    names = [n for n in order_by if n] or [default]
    for name in names:
        desc = name.startswith("-")
        field = name.lstrip("-")
        column = allowed.get(field)
        if column is None:
            raise InvalidInput(
                f"Ordering with '{field}' is disallowed or the attribute does not exist "
                "on the model"
            )
        terms.append(column.desc() if desc else column.asc())
    return terms


def pattern_clause(column: Any, pattern: str | None) -> Any | None:
    """Airflow's ``*_pattern``: case-insensitive substring, ``|`` for OR, ``~`` for all."""
    if pattern is None or pattern == "" or pattern == WILDCARD:
        return None
    parts = [p for p in pattern.split("|") if p]
    if not parts:
        return None
    return or_(*(column.ilike(f"%{p}%") for p in parts))


def prefix_clause(column: Any, pattern: str | None) -> Any | None:
    """Airflow's ``*_prefix_pattern``: case-sensitive prefix, ``|`` for OR, ``~`` for all."""
    if pattern is None or pattern == "" or pattern == WILDCARD:
        return None
    parts = [p for p in pattern.split("|") if p]
    if not parts:
        return None
    return or_(*(column.startswith(p, autoescape=True) for p in parts))


def range_clauses(
    column: Any, gte: Any = None, gt: Any = None, lte: Any = None, lt: Any = None
) -> list[Any]:
    """Conditions for the ``_gte/_gt/_lte/_lt`` filters that were given."""
    out = []
    if gte is not None:
        out.append(column >= gte)
    if gt is not None:
        out.append(column > gt)
    if lte is not None:
        out.append(column <= lte)
    if lt is not None:
        out.append(column < lt)
    return out


def paged(
    session: Session,
    query: Select[Any],
    where: Iterable[Any],
    paging: Paging,
    allowed: dict[str, Any],
    default: str,
    *,
    scalars: bool = True,
) -> Page[Any]:
    """Run ``query`` filtered by ``where`` for one page, plus a COUNT of all matches."""
    conditions = [c for c in where if c is not None]
    filtered = query.where(*conditions) if conditions else query
    order = order_clauses(paging.order_by, allowed, default)
    count_query = select(func.count()).select_from(filtered.order_by(None).subquery())
    total = int(session.scalar(count_query) or 0)
    page_query = filtered.order_by(*order).limit(max(paging.limit, 0)).offset(max(paging.offset, 0))
    result = session.execute(page_query)
    items = list(result.scalars()) if scalars else [tuple(r) for r in result.all()]
    return Page(items, total)


def _terms(order_by: Sequence[str], allowed: dict[str, Any]) -> list[tuple[Any, bool]]:
    """``(column, descending)`` per ``order_by`` name (400 for an unknown one)."""
    order_clauses(order_by, allowed, order_by[0])
    return [(allowed[n.lstrip("-")], n.startswith("-")) for n in order_by]


def _nulls_last(column: Any, desc: bool) -> list[Any]:
    """ORDER BY terms for ``column`` with its NULLs after every value, either direction."""
    plain = column.desc() if desc else column.asc()
    if not getattr(column, "nullable", True):
        return [plain]
    return [case((column.is_(None), 1), else_=0), plain]


def paged_nulls_last(
    session: Session,
    query: Select[Any],
    where: Iterable[Any],
    paging: Paging,
    allowed: dict[str, Any],
    *,
    count_query: Select[Any] | None = None,
    scalars: bool = True,
) -> Page[Any]:
    """One page in Airflow's order, NULLs last in either direction, served by indexes.

    Airflow sorts ``CASE WHEN col IS NULL``, ``col`` for every term, which no index serves.
    Here the first term's NULLs are a second query instead: the page is read from the
    rows where it is not NULL (an index on it walks straight to the offset), and only a
    page that runs past them reads the NULL rows, ordered by the other terms. Later terms
    keep the CASE (they only break ties). ``count_query`` (default ``query``) counts the
    matches: pass a cheaper one when ``query`` joins a table only for the order.
    """
    conditions = [c for c in where if c is not None]
    terms = _terms(paging.order_by, allowed)
    counted = (count_query if count_query is not None else query).where(*conditions)
    total = int(session.scalar(select(func.count()).select_from(counted.subquery())) or 0)
    lead, lead_desc = terms[0]
    rest = [t for column, desc in terms[1:] for t in _nulls_last(column, desc)]
    limit, offset = max(paging.limit, 0), max(paging.offset, 0)

    def fetch(extra: list[Any], order: list[Any], lim: int, off: int) -> list[Any]:
        stmt = query.where(*conditions, *extra).order_by(*order).limit(lim).offset(off)
        result = session.execute(stmt)
        return list(result.scalars()) if scalars else [tuple(r) for r in result.all()]

    lead_term = lead.desc() if lead_desc else lead.asc()
    if not getattr(lead, "nullable", True):
        return Page(fetch([], [lead_term, *rest], limit, offset), total)
    items = fetch([lead.is_not(None)], [lead_term, *rest], limit, offset)
    if len(items) == limit or offset + len(items) >= total:
        return Page(items, total)
    if items or offset == 0:
        valued = offset + len(items)
    else:  # the page starts past the last non-NULL row: count them
        with_value = query.where(*conditions, lead.is_not(None)).subquery()
        valued = int(session.scalar(select(func.count()).select_from(with_value)) or 0)
    items += fetch([lead.is_(None)], rest, limit - len(items), max(offset - valued, 0))
    return Page(items, total)
