"""Airflow 2's date helpers for DAG files (``days_ago``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def days_ago(
    n: int, hour: int = 0, minute: int = 0, second: int = 0, microsecond: int = 0
) -> datetime:
    """Midnight UTC (or the given time) ``n`` days before today, as Airflow 2's ``days_ago``."""
    today = datetime.now(UTC).replace(
        hour=hour, minute=minute, second=second, microsecond=microsecond
    )
    return today - timedelta(days=n)
