"""Bulk requests (the REST API's ``PATCH`` of variables, connections, pools, runs and task
instances): every action of one request is applied in one transaction, each in its own
savepoint (``api/v2/bulk.py`` applies Airflow's rules with the domain services' operations)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from tradewind.services.env import Env
from tradewind.services.event_log import log_event

R = TypeVar("R")


class BulkService:
    """Runs the actions of a bulk request in one unit of work."""

    def __init__(self, env: Env):
        self.env = env

    def apply(
        self,
        actions: Callable[[Session], R],
        *,
        event: str | None = None,
        user: str | None = None,
        extra: Callable[[R], dict[str, Any]] | None = None,
        wake: bool = False,
    ) -> R:
        """Apply ``actions`` in one transaction; event-log ``event`` by ``user`` with
        ``extra(result)``; with ``wake``, wake the schedulers after the commit."""
        with self.env.db.session() as session:
            result = actions(session)
            if event is not None:
                details = extra(result) if extra is not None else None
                log_event(session, event, now=self.env.now(), owner=user, extra=details)
        if wake:
            self.env.wake()
        return result
