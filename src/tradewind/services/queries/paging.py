"""Paging, ordering and pattern filters shared by the API's list queries.

Every list is one ``SELECT ... LIMIT/OFFSET`` on indexed columns plus one ``COUNT`` of the
same filter (``total_entries``), never a load of a whole table. Ordering follows Airflow's
``order_by`` parameter: field names, ``-`` for descending, unknown names refused.

The COUNT is exact, except for an unfiltered list of a PostgreSQL table past
``ESTIMATE_ABOVE`` rows: there it is the planner's row count (``pg_class``), since an exact
COUNT of a million task instances costs 30-120 ms, more than the rest of the request. The
estimate is never below what the page proves (a full page says at least one more row), and
a page that ends the list reports the exact total (docs/api-compat.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Table, case, func, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from tradewind.errors import InvalidInput

T = TypeVar("T")
WILDCARD = "~"

#: An unfiltered list of a PostgreSQL table estimated past this many rows reports the
#: planner's row count as its total instead of an exact COUNT (see the module docstring).
ESTIMATE_ABOVE = 100_000

# The planner's own estimate of a table's rows now: the density of its last ANALYZE
# (reltuples per page) times its current size, so a table that grew since is seen grown.
_PLANNER_ROWS = text(
    "SELECT CASE WHEN c.reltuples < 0 OR c.relpages = 0 THEN NULL"
    " ELSE c.reltuples / c.relpages"
    " * (pg_relation_size(c.oid) / current_setting('block_size')::int) END"
    " FROM pg_class c WHERE c.oid = to_regclass(:name)"
)


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


def estimated_total(session: Session, query: Select[Any], conditions: list[Any]) -> int | None:
    """The planner's row count of an unfiltered one-table ``query`` past ``ESTIMATE_ABOVE``.

    None (count exactly) on SQLite, with a filter, a join or a grouping, for a table never
    analyzed, and for a small table.
    """
    if conditions or session.get_bind().dialect.name != "postgresql":
        return None
    froms = query.get_final_froms()
    plain = query.whereclause is None and not query._group_by_clauses and not query._distinct
    if not plain or len(froms) != 1 or not isinstance(froms[0], Table):
        return None
    rows = session.scalar(_PLANNER_ROWS, {"name": froms[0].fullname})
    if rows is None or rows <= ESTIMATE_ABOVE:
        return None
    return round(float(rows))


def settled_total(estimate: int, limit: int, offset: int, found: int) -> int | None:
    """The total to report for a page of ``found`` rows read under an ``estimate``.

    A short page ends the list, so its total is exact; a full page proves one row more
    (a client paging while ``offset < total_entries`` reaches every row). None: an empty
    page past the end, which only an exact COUNT can place.
    """
    if found == limit:
        return max(estimate, offset + found + 1)
    if found or offset == 0:
        return offset + found
    return None


def _count(session: Session, query: Select[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


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
    estimate = estimated_total(session, query, conditions)
    limit, offset = max(paging.limit, 0), max(paging.offset, 0)
    page_query = filtered.order_by(*order).limit(limit).offset(offset)
    result = session.execute(page_query)
    items = list(result.scalars()) if scalars else [tuple(r) for r in result.all()]
    total = None if estimate is None else settled_total(estimate, limit, offset, len(items))
    if total is None:
        total = _count(session, filtered.order_by(None))
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
    counted = count_query if count_query is not None else query
    estimate = estimated_total(session, counted, conditions)
    total = _count(session, counted.where(*conditions)) if estimate is None else None
    lead, lead_desc = terms[0]
    rest = [t for column, desc in terms[1:] for t in _nulls_last(column, desc)]
    limit, offset = max(paging.limit, 0), max(paging.offset, 0)

    def fetch(extra: list[Any], order: list[Any], lim: int, off: int) -> list[Any]:
        stmt = query.where(*conditions, *extra).order_by(*order).limit(lim).offset(off)
        result = session.execute(stmt)
        return list(result.scalars()) if scalars else [tuple(r) for r in result.all()]

    def page(items: list[Any]) -> Page[Any]:
        if total is not None:
            return Page(items, total)
        settled = settled_total(estimate or 0, limit, offset, len(items))
        return Page(
            items, _count(session, counted.where(*conditions)) if settled is None else settled
        )

    lead_term = lead.desc() if lead_desc else lead.asc()
    if not getattr(lead, "nullable", True):
        return page(fetch([], [lead_term, *rest], limit, offset))
    items = fetch([lead.is_not(None)], [lead_term, *rest], limit, offset)
    if len(items) == limit or (total is not None and offset + len(items) >= total):
        return page(items)
    if items or offset == 0:
        valued = offset + len(items)
    else:  # the page starts past the last non-NULL row: count them
        valued = _count(session, query.where(*conditions, lead.is_not(None)))
    items += fetch([lead.is_(None)], rest, limit - len(items), max(offset - valued, 0))
    return page(items)
