"""DateTimeSensor: wait until a given moment (templated)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from tradewind.errors import InvalidInput
from tradewind.sensors.base import BaseSensorOperator
from tradewind.sensors.time_delta import defer_until


def _as_datetime(value: str | datetime) -> datetime:
    moment = (
        value
        if isinstance(value, datetime)
        else datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    )
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class DateTimeSensor(BaseSensorOperator):
    """Wait until ``target_time`` (a datetime or a templated ISO string like ``{{ data_interval_end }}``)."""

    template_fields = ("target_time",)

    def __init__(self, *, target_time: str | datetime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(target_time, str | datetime):
            raise InvalidInput(
                f"task {self.task_id!r}: target_time must be a datetime or a string, not {type(target_time).__name__}"
            )
        self.target_time = (
            target_time.isoformat() if isinstance(target_time, datetime) else target_time
        )

    def poke(self, context: dict[str, Any]) -> bool:
        return self.clock() >= _as_datetime(self.target_time)

    def execute(self, context: dict[str, Any]) -> Any:
        if self.deferrable and not self.poke(context):
            defer_until(self, _as_datetime(self.target_time))
        return super().execute(context)

    def execute_complete(self, context: dict[str, Any], event: Any = None) -> None:
        """The moment has come."""
        return None


class DateTimeSensorAsync(DateTimeSensor):
    """DateTimeSensor that always waits in the triggerer."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["deferrable"] = True
        super().__init__(**kwargs)
