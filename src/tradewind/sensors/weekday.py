"""DayOfWeekSensor: wait until it is one of the given days of the week."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tradewind.sensors.base import BaseSensorOperator
from tradewind.utils.weekday import WeekDay


class DayOfWeekSensor(BaseSensorOperator):
    """Succeed on the days in ``week_day`` (a name, a :class:`WeekDay` or a collection).

    Args:
        use_task_logical_date: check the run's logical date instead of the current day.
    """

    def __init__(
        self,
        *,
        week_day: str | WeekDay | Iterable[str | WeekDay],
        use_task_logical_date: bool = False,
        use_task_execution_day: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.week_day = week_day
        self.use_task_logical_date = use_task_logical_date or use_task_execution_day
        self._week_day_num = WeekDay.validate_week_day(week_day)

    def poke(self, context: dict[str, Any]) -> bool:
        when = context["logical_date"] if self.use_task_logical_date else None
        return (when or self.clock()).isoweekday() in self._week_day_num
