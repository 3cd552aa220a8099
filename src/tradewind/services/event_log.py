"""The event log: who did what, when."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from tradewind.metastore.tables import EventLog

if TYPE_CHECKING:
    from tradewind.services.env import Env


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


def log_change(
    env: Env, session: Session, event: str, user: str | None, extra: dict[str, Any]
) -> None:
    """Event-log a change a user made through a service (the CLI passes no user: its
    changes are not logged, as before)."""
    if user is not None:
        log_event(session, event, now=env.now(), owner=user, extra=extra)


class EventLogService:
    """The event log as people read it, bound to the environment; one read each."""

    def __init__(self, env: Env):
        self.env = env

    def browse(
        self, *, limit: int, offset: int, dag_id: str = "", event: str = ""
    ) -> tuple[list[EventLog], bool]:
        """Entries newest first, filtered by DAG and event; whether more follow."""
        from tradewind.services.ui_queries import browse_events

        with self.env.db.session(readonly=True) as session:
            return browse_events(session, dag_id=dag_id, event=event, limit=limit, offset=offset)
