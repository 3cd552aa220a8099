"""Airflow's ``timezone`` helpers: aware datetimes, UTC by default."""

from __future__ import annotations

import datetime as dt
from typing import Any

utc = dt.UTC


def utcnow() -> dt.datetime:
    """The current time, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def is_localized(value: dt.datetime) -> bool:
    """Whether ``value`` carries a time zone."""
    return value.utcoffset() is not None


def is_naive(value: dt.datetime) -> bool:
    """Whether ``value`` has no time zone."""
    return value.utcoffset() is None


def make_aware(value: dt.datetime, timezone: dt.tzinfo | None = None) -> dt.datetime:
    """Give a naive datetime a time zone (UTC by default)."""
    if is_localized(value):
        raise ValueError(f"make_aware expects a naive datetime, got {value}")
    return value.replace(tzinfo=timezone or dt.UTC)


def make_naive(value: dt.datetime, timezone: dt.tzinfo | None = None) -> dt.datetime:
    """Drop the time zone after converting to ``timezone`` (UTC by default)."""
    if is_naive(value):
        raise ValueError("make_naive() cannot be applied to a naive datetime")
    return value.astimezone(timezone or dt.UTC).replace(tzinfo=None)


def convert_to_utc(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` in UTC (naive values are taken as UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if is_naive(value) else value.astimezone(dt.UTC)


coerce_datetime = convert_to_utc


def datetime(*args: Any, **kwargs: Any) -> dt.datetime:
    """``datetime.datetime(...)`` that is aware (UTC unless ``tzinfo`` is given)."""
    kwargs.setdefault("tzinfo", dt.UTC)
    return dt.datetime(*args, **kwargs)


def parse(text: str, timezone: dt.tzinfo | None = None) -> dt.datetime:
    """Parse an ISO 8601 date-time; naive values get ``timezone`` (UTC by default)."""
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if is_localized(value) else value.replace(tzinfo=timezone or dt.UTC)
