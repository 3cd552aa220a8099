"""The event log: who did what, when."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from tradewind.metastore.tables import EventLog

if TYPE_CHECKING:
    from tradewind.services.env import Env
    from tradewind.services.queries import Page


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

    def page(self, where: list[Any], paging: Any) -> tuple[Page[EventLog], dict[str, str]]:
        """One page (``queries.Paging``) of the entries matching ``where``, and the display
        names of their DAGs."""
        from tradewind.services.queries import display_names, list_event_logs

        with self.env.db.session(readonly=True) as session:
            page = list_event_logs(session, where, paging)
            return page, display_names(session, (r.dag_id for r in page.items if r.dag_id))

    def get(self, event_log_id: int) -> tuple[EventLog, dict[str, str]]:
        """One entry and the display name of its DAG; raise NotFound."""
        from tradewind.services.queries import display_names, get_event_log

        with self.env.db.session(readonly=True) as session:
            row = get_event_log(session, event_log_id)
            return row, display_names(session, [row.dag_id] if row.dag_id else [])
