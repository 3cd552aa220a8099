"""TimeSensor: wait until a time of day (UTC) on the day the run's data interval ends."""

from __future__ import annotations

from datetime import datetime, time, timezone
from typing import Any

from tradewind.sensors.base import BaseSensorOperator
from tradewind.sensors.time_delta import defer_until


class TimeSensor(BaseSensorOperator):
    """Wait until ``target_time`` (a ``datetime.time``; naive means UTC) of the current day."""

    def __init__(self, *, target_time: time, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_time = target_time

    def _target(self) -> datetime:
        tz = self.target_time.tzinfo or timezone.utc
        today = self.clock().astimezone(tz).date()
        return datetime.combine(today, self.target_time.replace(tzinfo=None), tzinfo=tz)

    def poke(self, context: dict[str, Any]) -> bool:
        return self.clock() >= self._target()

    def execute(self, context: dict[str, Any]) -> Any:
        if self.deferrable and not self.poke(context):
            defer_until(self, self._target())
        return super().execute(context)

    def execute_complete(self, context: dict[str, Any], event: Any = None) -> None:
        return None


class TimeSensorAsync(TimeSensor):
    """TimeSensor that always waits in the triggerer."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["deferrable"] = True
        super().__init__(**kwargs)
