"""Declared list filters: each ``Filter`` of a spec becomes a query parameter (so it is in
the OpenAPI document, as in Airflow's spec), and the dependency returns the WHERE terms of
the given ones (``services/queries/list_filters.py`` holds the specs)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Request

from tradewind.services.queries.list_filters import Filter, condition


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


def filters(specs: dict[str, Filter]) -> Callable[..., list[Any]]:
    """A dependency declaring ``specs`` as query parameters; it returns the conditions."""

    def dependency(request: Request, **given: Any) -> list[Any]:
        dialect = request.app.state.env.db.dialect
        return [
            condition(specs[name], name, value, dialect)
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
