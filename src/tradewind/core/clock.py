"""The clock, passed in so that tests hand in the time instead of sleeping."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class FrozenClock:
    """A clock for tests: returns ``now`` until told to move."""

    def __init__(self, now: datetime):
        self.now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now = self.now + timedelta(**kwargs)
        return self.now
