"""The event log: who did what, when."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tradewind.metastore.tables import EventLog


def log_event(
    session: Session,
    event: str,
    *,
    now: datetime,
    owner: str | None = None,
    dag_id: str | None = None,
    task_id: str | None = None,
    run_id: str | None = None,
    try_number: int | None = None,
    extra: dict[str, Any] | str | None = None,
) -> None:
    """Record one event (trigger, clear, pause, mark success, login...)."""
    session.add(
        EventLog(
            dttm=now,
            event=event,
            owner=owner,
            dag_id=dag_id,
            task_id=task_id,
            run_id=run_id,
            try_number=try_number,
            extra=json.dumps(extra, default=str) if isinstance(extra, dict) else extra,
        )
    )
