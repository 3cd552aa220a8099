"""BranchDateTimeOperator: follow one branch inside a time window, another outside it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from tradewind.errors import DagDefinitionError
from tradewind.operators.branch import BaseBranchOperator


def target_times_as_dates(
    base: datetime, lower: datetime | time | None, upper: datetime | time | None
) -> tuple[datetime | None, datetime | None]:
    """Turn times of day into datetimes on ``base``'s day; an upper time before the lower one
    means the next day (a window across midnight)."""

    def on_day(value: datetime | time | None) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return _aware(value) if value is not None else None
        return datetime.combine(base.date(), value.replace(tzinfo=None), tzinfo=value.tzinfo or UTC)

    low, up = on_day(lower), on_day(upper)
    if isinstance(upper, time) and low is not None and up is not None and up < low:
        up += timedelta(days=1)
    return low, up


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class BranchDateTimeOperator(BaseBranchOperator):
    """Follow ``follow_task_ids_if_true`` when now (or the logical date) is in the window.

    The window is ``[target_lower, target_upper)``; either bound may be None (open), and each
    is a ``datetime`` or a ``time`` of day.
    """

    def __init__(
        self,
        *,
        follow_task_ids_if_true: str | Iterable[str],
        follow_task_ids_if_false: str | Iterable[str],
        target_lower: datetime | time | None,
        target_upper: datetime | time | None,
        use_task_logical_date: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if target_lower is None and target_upper is None:
            raise DagDefinitionError(
                f"task {self.task_id!r}: target_lower and target_upper cannot both be None",
                self.filename,
                self.lineno,
            )
        self.follow_task_ids_if_true = follow_task_ids_if_true
        self.follow_task_ids_if_false = follow_task_ids_if_false
        self.target_lower = target_lower
        self.target_upper = target_upper
        self.use_task_logical_date = use_task_logical_date

    def choose_branch(self, context: dict[str, Any]) -> Any:
        now = context["logical_date"] if self.use_task_logical_date else None
        now = _aware(now or datetime.now(UTC))
        lower, upper = target_times_as_dates(now, self.target_lower, self.target_upper)
        inside = (lower is None or lower <= now) and (upper is None or now < upper)
        return self.follow_task_ids_if_true if inside else self.follow_task_ids_if_false
