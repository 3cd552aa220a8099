"""Login throttling: a sliding window of failures per (user name, client address) pair and
per client address, kept in the metastore so the limits hold across web server processes.

Keying on the pair, not on the user name alone, means a client flooding ``admin`` with wrong
passwords locks out only itself: the real admin, logging in from another address, still gets
in. The per-client limit stops one address from spraying guesses over many user names.
Each lock-out is recorded in the event log (``login_lockout``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tradewind.metastore.tables import LoginFailure
from tradewind.services.event_log import log_event

WINDOW = timedelta(minutes=1)
MAX_PER_USER_AND_CLIENT = 5
MAX_PER_CLIENT = 20


def _until(session: Session, where: list[object], limit: int, now: datetime) -> datetime | None:
    """When the ``limit``-th most recent failure matching ``where`` leaves the window."""
    times = list(
        session.scalars(
            select(LoginFailure.at)
            .where(*where, LoginFailure.at > now - WINDOW)  # type: ignore[arg-type]
            .order_by(LoginFailure.at.desc())
            .limit(limit)
        )
    )
    if len(times) < limit:
        return None
    return times[-1] + WINDOW


def throttled_until(session: Session, username: str, client: str, now: datetime) -> datetime | None:
    """When ``client`` may try ``username`` again, or None if it may now."""
    pair = _until(
        session,
        [LoginFailure.username == username, LoginFailure.client == client],
        MAX_PER_USER_AND_CLIENT,
        now,
    )
    by_client = _until(session, [LoginFailure.client == client], MAX_PER_CLIENT, now)
    ends = [t for t in (pair, by_client) if t is not None]
    return max(ends) if ends else None


def record_failure(session: Session, username: str, client: str, now: datetime) -> None:
    """Count one failed login; record a lock-out in the event log when it starts one."""
    session.execute(delete(LoginFailure).where(LoginFailure.at <= now - WINDOW))
    session.add(LoginFailure(username=username, client=client, at=now))
    session.flush()
    log_event(session, "login_failed", now=now, owner=username, extra={"client": client})
    pair = session.scalar(
        select(func.count(LoginFailure.id)).where(
            LoginFailure.username == username, LoginFailure.client == client
        )
    )
    by_client = session.scalar(
        select(func.count(LoginFailure.id)).where(LoginFailure.client == client)
    )
    if pair == MAX_PER_USER_AND_CLIENT or by_client == MAX_PER_CLIENT:
        log_event(
            session,
            "login_lockout",
            now=now,
            owner=username,
            extra={
                "client": client,
                "scope": "user_and_client" if pair == MAX_PER_USER_AND_CLIENT else "client",
                "seconds": int(WINDOW.total_seconds()),
            },
        )


def clear_failures(session: Session, username: str, client: str) -> None:
    """Forget the pair's failures after a successful login."""
    session.execute(
        delete(LoginFailure).where(LoginFailure.username == username, LoginFailure.client == client)
    )
