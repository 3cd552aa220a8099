"""WeekDay: the days of the week as Airflow numbers them (ISO: Monday 1 ... Sunday 7)."""

from __future__ import annotations

import enum
from collections.abc import Iterable


@enum.unique
class WeekDay(enum.IntEnum):
    """A day of the week; ``WeekDay.MONDAY == 1``, as ``date.isoweekday()``."""

    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7

    @classmethod
    def get_weekday_number(cls, week_day_str: str) -> int:
        """The number of a day name such as ``"Monday"`` (any case)."""
        try:
            return cls[week_day_str.upper()].value
        except KeyError:
            names = ", ".join(d.name.capitalize() for d in cls)
            raise AttributeError(
                f"invalid week day name {week_day_str!r}: use one of {names}"
            ) from None

    @classmethod
    def convert(cls, day: str | WeekDay) -> int:
        """The number of a day given by name or as a WeekDay."""
        if isinstance(day, WeekDay):
            return day.value
        return cls.get_weekday_number(day)

    @classmethod
    def validate_week_day(cls, week_day: str | WeekDay | Iterable[str | WeekDay]) -> set[int]:
        """The set of day numbers of one day or several."""
        if isinstance(week_day, str | WeekDay):
            return {cls.convert(week_day)}
        if isinstance(week_day, Iterable):
            return {cls.convert(d) for d in week_day}
        raise TypeError(
            f"week_day must be a day name, a WeekDay or a collection of them, got {week_day!r}"
        )
