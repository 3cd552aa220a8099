"""BranchDayOfWeekOperator: follow one branch on given days of the week, another otherwise."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from tradewind.operators.branch import BaseBranchOperator
from tradewind.utils.weekday import WeekDay


class BranchDayOfWeekOperator(BaseBranchOperator):
    """Follow ``follow_task_ids_if_true`` when today (or the logical date) is in ``week_day``.

    Args:
        week_day: a day name (``"Monday"``), a :class:`WeekDay`, or a collection of them.
        use_task_logical_date: compare the run's logical date instead of the current day.
    """

    def __init__(
        self,
        *,
        follow_task_ids_if_true: str | Iterable[str],
        follow_task_ids_if_false: str | Iterable[str],
        week_day: str | WeekDay | Iterable[str | WeekDay],
        use_task_logical_date: bool = False,
        use_task_execution_day: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.follow_task_ids_if_true = follow_task_ids_if_true
        self.follow_task_ids_if_false = follow_task_ids_if_false
        self.week_day = week_day
        self.use_task_logical_date = use_task_logical_date or use_task_execution_day
        self._week_day_num = WeekDay.validate_week_day(week_day)

    def choose_branch(self, context: dict[str, Any]) -> Any:
        when = context["logical_date"] if self.use_task_logical_date else None
        day = (when or datetime.now(UTC)).isoweekday()
        if day in self._week_day_num:
            return self.follow_task_ids_if_true
        return self.follow_task_ids_if_false
