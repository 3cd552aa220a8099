"""Triggers: small async waits the triggerer runs by the thousand for deferred tasks.

A trigger is rebuilt in the triggerer from ``serialize()`` (an import path and JSON kwargs),
so it must hold only JSON-safe state. ``run()`` yields a :class:`TriggerEvent` when the wait
is over; the task then resumes on a worker with the event's payload.
"""

from __future__ import annotations

import asyncio
import glob
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any


@dataclass
class TriggerEvent:
    """What a trigger yields: a JSON-safe payload handed to the resumed task as ``event``."""

    payload: Any = None


class BaseTrigger:
    """Base of triggers: ``serialize()`` to (classpath, kwargs) and ``async run()``."""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return (import path of the class, JSON-safe keyword arguments to rebuild it)."""
        raise NotImplementedError

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait, then yield one event (subclasses implement it as an async generator)."""
        raise NotImplementedError
        yield  # pragma: no cover - makes this an async generator

    async def cleanup(self) -> None:
        """Release resources when the trigger is cancelled or done."""

    @classmethod
    def classpath(cls) -> str:
        return f"{cls.__module__}.{cls.__qualname__}"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class DateTimeTrigger(BaseTrigger):
    """Fire at ``moment`` (an aware datetime or its ISO string)."""

    def __init__(self, moment: datetime | str, end_from_trigger: bool = False):
        self.moment = _aware(datetime.fromisoformat(moment) if isinstance(moment, str) else moment)
        self.end_from_trigger = end_from_trigger

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return self.classpath(), {
            "moment": self.moment.isoformat(),
            "end_from_trigger": self.end_from_trigger,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # Sleep in slices of at most an hour, so a changed wall clock is noticed.
        while True:
            left = (self.moment - datetime.now(timezone.utc)).total_seconds()
            if left <= 0:
                break
            await asyncio.sleep(min(left, 3600.0))
        yield TriggerEvent({"status": "success", "moment": self.moment.isoformat()})


class TimeDeltaTrigger(DateTimeTrigger):
    """Fire ``delta`` after now (stored as the absolute moment, so a restart keeps it)."""

    def __init__(
        self,
        delta: timedelta | float | None = None,
        moment: str | None = None,
        end_from_trigger: bool = False,
    ):
        if moment is None:
            seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta or 0)
            moment_dt = datetime.now(timezone.utc) + timedelta(seconds=seconds)
        else:
            moment_dt = datetime.fromisoformat(moment)
        super().__init__(moment_dt, end_from_trigger)


class FileTrigger(BaseTrigger):
    """Fire when a path (glob pattern allowed) exists; optionally give up at ``timeout_at``."""

    def __init__(
        self,
        filepath: str,
        recursive: bool = False,
        poke_interval: float = 5.0,
        timeout_at: str | None = None,
    ):
        self.filepath = filepath
        self.recursive = recursive
        self.poke_interval = float(poke_interval)
        self.timeout_at = timeout_at

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return self.classpath(), {
            "filepath": self.filepath,
            "recursive": self.recursive,
            "poke_interval": self.poke_interval,
            "timeout_at": self.timeout_at,
        }

    def _found(self) -> list[str]:
        return [
            p
            for p in glob.glob(self.filepath, recursive=self.recursive)
            if os.path.isfile(p) or os.path.isdir(p)
        ]

    async def run(self) -> AsyncIterator[TriggerEvent]:
        deadline = _aware(datetime.fromisoformat(self.timeout_at)) if self.timeout_at else None
        while True:
            found = self._found()
            if found:
                yield TriggerEvent({"status": "success", "files": found[:100]})
                return
            if deadline is not None and datetime.now(timezone.utc) >= deadline:
                yield TriggerEvent({"status": "timeout"})
                return
            await asyncio.sleep(self.poke_interval)
