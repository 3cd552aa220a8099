"""Declarative list filters: Airflow's ``*_pattern``, ``*_prefix_pattern``, ``*_gte/_gt/_lte/
_lt`` query parameters as one FastAPI dependency that returns SQL conditions.

``filters(name=Filter(kind, column), ...)`` declares each name as a query parameter (so it is
in the OpenAPI document, as in Airflow's spec) and turns the given ones into WHERE terms.
A filter on something Tradewind does not record (``bundle_version``, partitions, rendered
map indexes) matches nothing when given a value, as Airflow's would on such rows (NULL).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Request
from sqlalchemy import false, func

from tradewind.api.v2.convert import aware
from tradewind.services.queries.paging import WILDCARD, pattern_clause, prefix_clause

_OPS = {"gte": "__ge__", "gt": "__gt__", "lte": "__le__", "lt": "__lt__"}


@dataclass(frozen=True)
class Filter:
    """One query parameter: ``kind`` is pattern, prefix, number, bool, date, none, ints or strs."""

    kind: str
    column: Any = None
    #: Turns the given value into a condition itself (e.g. version numbers -> hashes).
    build: Callable[[Any], Any] | None = None


def _annotation(kind: str) -> Any:
    if kind in ("pattern", "prefix", "none"):
        return Annotated[str | None, Query()]
    if kind == "number":
        return Annotated[float | None, Query()]
    if kind == "bool":
        return Annotated[bool | None, Query()]
    if kind == "date":
        return Annotated[datetime | None, Query()]
    if kind == "strs":
        return Annotated[list[str] | None, Query()]
    return Annotated[list[int] | None, Query()]


def _condition(spec: Filter, name: str, value: Any, dialect: str) -> Any:
    if spec.build is not None:
        return spec.build(value)
    if spec.kind == "pattern":
        return pattern_clause(spec.column, value)
    if spec.kind == "prefix":
        return prefix_clause(spec.column, value)
    if spec.kind == "none":
        return None if value in ("", WILDCARD) else false()
    if spec.kind in ("ints", "strs"):
        return spec.column.in_(value)
    column = spec.column(dialect) if callable(spec.column) else spec.column
    bound = aware(value) if spec.kind == "date" else value
    return getattr(column, _OPS[name.rsplit("_", 1)[1]])(bound)


def filters(**specs: Filter) -> Callable[..., list[Any]]:
    """A dependency declaring ``specs`` as query parameters; it returns the conditions."""

    def dependency(request: Request, **given: Any) -> list[Any]:
        dialect = request.app.state.env.db.engine.dialect.name
        return [
            _condition(specs[name], name, value, dialect)
            for name, value in given.items()
            if value is not None and value != []
        ]

    params = [inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request)]
    params += [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                          annotation=_annotation(spec.kind))
        for name, spec in specs.items()
    ]  # fmt: skip
    dependency.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return dependency


def ranges(prefix: str, kind: str, column: Any) -> dict[str, Filter]:
    """``<prefix>_gte``, ``_gt``, ``_lte``, ``_lt`` on one column."""
    return {f"{prefix}_{op}": Filter(kind, column) for op in _OPS}


def seconds_between(start: Any, end: Any) -> Callable[[str], Any]:
    """``end - start`` in seconds, for the dialect (a run's duration)."""

    def expression(dialect: str) -> Any:
        if dialect == "sqlite":
            return (func.julianday(end) - func.julianday(start)) * 86400.0
        return func.extract("epoch", end - start)

    return expression
