"""Reads of the dashboard's extra views: a DAG's calendar and the XCom browser."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.metastore.tables import DagRun, XCom


def run_calendar(session: Session, dag_id: str, since: datetime) -> dict[date, dict[str, int]]:
    """Per day (of the logical date, else run-after, in UTC): how many runs ended in each state."""
    rows = session.execute(
        select(DagRun.logical_date, DagRun.run_after, DagRun.state).where(
            DagRun.dag_id == dag_id, DagRun.run_after >= since
        )
    )
    days: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for logical, run_after, state in rows:
        when = logical or run_after
        days[when.date()][state] += 1
    return {day: dict(states) for day, states in days.items()}


def browse_xcoms(
    session: Session,
    *,
    dag_id: str = "",
    run_id: str = "",
    task_id: str = "",
    key: str = "",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[XCom], bool]:
    """XComs, newest first, filtered by DAG, run, task and key."""
    query: Any = select(XCom)
    for column, value in (
        (XCom.dag_id, dag_id),
        (XCom.run_id, run_id),
        (XCom.task_id, task_id),
        (XCom.key, key),
    ):
        if value:
            query = query.where(column == value)
    query = query.order_by(XCom.timestamp.desc(), XCom.dag_id, XCom.task_id)
    items = list(session.scalars(query.limit(limit + 1).offset(offset)))
    return items[:limit], len(items) > limit
