"""Triggers: small async waits the triggerer runs by the thousand for deferred tasks.

A trigger is rebuilt in the triggerer from ``serialize()`` (an import path and JSON kwargs),
so it must hold only JSON-safe state. ``run()`` yields a :class:`TriggerEvent` when the wait
is over; the task then resumes on a worker with the event's payload.
"""

from __future__ import annotations

import asyncio
import glob
import importlib
import importlib.util
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from tradewind.core.paths import is_contained
from tradewind.errors import TradewindError


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


class TriggerRefused(TradewindError):
    """A trigger row names a class the triggerer will not import or run."""


@dataclass(frozen=True)
class TriggerPolicy:
    """Which modules the triggerer may import trigger classes from: Tradewind's own and the
    deployment's plugins (the plugins folder, and the packages of entry-point plugins).

    A task chooses the class path it defers to; without this check any importable callable
    (``os.system``...) would be called with the task's kwargs inside the triggerer.
    """

    plugins_folder: str = ""
    packages: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Any) -> TriggerPolicy:
        from tradewind.plugins_manager import load_plugins

        loaded = load_plugins(settings)
        packages = {type(p).__module__.split(".")[0] for p in loaded.plugins}
        return cls(str(settings.get("core", "plugins_folder")), frozenset(packages))

    def allows(self, module: str) -> bool:
        top = module.split(".")[0]
        if top in ("tradewind", "airflow") or top.startswith("tradewind_plugin_"):
            return True
        if top in self.packages:
            return True
        if not self.plugins_folder or not top.isidentifier():
            return False
        # A module next to the plugins (imported by name): its top-level spec, found without
        # running any code, must come from the plugins folder.
        spec = importlib.util.find_spec(top)
        places = list(spec.submodule_search_locations or []) if spec else []
        if spec is not None and spec.origin:
            places.append(spec.origin)
        return bool(places) and all(is_contained(self.plugins_folder, p) for p in places)


def load_trigger(
    classpath: str, kwargs: dict[str, Any], policy: TriggerPolicy | None = None
) -> BaseTrigger:
    """Rebuild a trigger from its serialized form, refusing what is not a trigger class of
    Tradewind or of a plugin (``policy``; Tradewind's own modules only when None)."""
    module, _, name = classpath.rpartition(".")
    if not module or not (policy or TriggerPolicy()).allows(module):
        raise TriggerRefused(
            f"trigger {classpath!r} refused: its module is neither Tradewind's nor a plugin's"
        )
    cls = getattr(importlib.import_module(module), name, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseTrigger)):
        raise TriggerRefused(f"trigger {classpath!r} refused: it is not a BaseTrigger subclass")
    if not isinstance(kwargs, dict):
        raise TriggerRefused(f"trigger {classpath!r} refused: its kwargs are not an object")
    return cls(**kwargs)


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
