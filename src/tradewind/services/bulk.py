"""Bulk requests (the REST API's ``PATCH`` of variables, connections, pools, runs and task
instances): every action of one request is applied in one transaction, each in its own
savepoint (``savepoint``; ``api/v2/bulk.py`` applies Airflow's rules with the domain services'
operations)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tradewind.errors import Conflict
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


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """One action of a bulk request: what it wrote is undone if it raises, and a clash with a
    unique key (two entities of one request with the same key) is a :class:`Conflict`."""
    try:
        with session.begin_nested():
            yield
    except IntegrityError as exc:
        raise Conflict(f"Conflict: {exc.orig}") from exc
