"""TimeDeltaSensor: wait until ``delta`` after the run's data interval end."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tradewind.errors import TaskDeferred
from tradewind.sensors.base import BaseSensorOperator


def _target_of(context: dict[str, Any], delta: timedelta) -> datetime:
    base = context.get("data_interval_end") or context["dag_run"].run_after
    return base + delta  # type: ignore[no-any-return]


def defer_until(sensor: BaseSensorOperator, moment: datetime) -> None:
    """Hand the wait to the triggerer until ``moment`` (resumes in ``execute_complete``)."""
    from tradewind.sdk.triggers import DateTimeTrigger

    raise TaskDeferred(trigger=DateTimeTrigger(moment), method_name="execute_complete")


class TimeDeltaSensor(BaseSensorOperator):
    """Wait until ``data_interval_end + delta`` (Airflow's semantics)."""

    def __init__(self, *, delta: timedelta, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.delta = delta

    def poke(self, context: dict[str, Any]) -> bool:
        return self.clock() >= _target_of(context, self.delta)

    def execute(self, context: dict[str, Any]) -> Any:
        if self.deferrable and not self.poke(context):
            defer_until(self, _target_of(context, self.delta))
        return super().execute(context)

    def execute_complete(self, context: dict[str, Any], event: Any = None) -> None:
        """The moment has come."""
        return None


class TimeDeltaSensorAsync(TimeDeltaSensor):
    """TimeDeltaSensor that always waits in the triggerer."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["deferrable"] = True
        super().__init__(**kwargs)


class WaitSensor(BaseSensorOperator):
    """Wait ``time_to_wait`` from when the task starts."""

    def __init__(self, *, time_to_wait: timedelta | float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.time_to_wait = (
            time_to_wait if isinstance(time_to_wait, timedelta) else timedelta(seconds=time_to_wait)
        )

    def execute(self, context: dict[str, Any]) -> Any:
        started, _ = self._progress(context)
        self._until = started + self.time_to_wait
        if self.deferrable and self.clock() < self._until:
            defer_until(self, self._until)
        return super().execute(context)

    def poke(self, context: dict[str, Any]) -> bool:
        return self.clock() >= self._until

    def execute_complete(self, context: dict[str, Any], event: Any = None) -> None:
        return None
