"""Cron arithmetic for the timetables: fire instants of a cron expression on the wall clock of
one timezone (DST included), and the UTC helpers it needs. Split out of ``timetables.py``;
everything here is private to the SDK and re-exported there."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo

from croniter import CroniterError, croniter

from tradewind.errors import DagDefinitionError

UTC = timezone.utc

PRESETS: dict[str, str] = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}

# Wider than any DST shift on record (2 h), so a search window this wide never misses a fire.
_SLACK = timedelta(hours=3)
_TICK = timedelta(microseconds=1)
#: the earliest instant cron arithmetic starts from: ``start_date=datetime.min`` (as some of
#: Airflow's examples write) would overflow one step back and at any zone's offset
_FLOOR = datetime(1, 1, 2, tzinfo=UTC)


def as_utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime; a naive value is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class _CronSchedule:
    """Fire instants of a 5-field cron expression on the wall clock of one timezone.

    A wall time skipped by a spring-forward change fires right after the gap, and one repeated
    by a fall-back change fires once (the first time), except for expressions that fire every
    hour: those follow real time, so they skip the gap and fire in both repeated hours.
    """

    def __init__(self, expression: str, tz: tzinfo) -> None:
        self.expression = PRESETS.get(expression, expression)
        self.tz = tz
        if not isinstance(self.expression, str) or len(self.expression.split()) != 5:
            raise DagDefinitionError(
                f"Invalid cron expression {expression!r}: expected 5 fields "
                "(minute hour day-of-month month day-of-week) or a preset such as '@daily'."
            )
        try:
            hours = croniter(self.expression).expanded[1]
            croniter(self.expression, datetime(2000, 1, 1)).get_next(datetime)
        except CroniterError as exc:
            if "find next date" in str(exc):
                raise DagDefinitionError(
                    f"Cron expression {expression!r} never fires: no date matches it "
                    "(such as February 30th). Fix its day-of-month and month fields."
                )
            raise DagDefinitionError(f"Invalid cron expression {expression!r}: {exc}")
        self.every_hour = hours == ["*"] or set(hours) == set(range(24))

    def next_after(self, current: datetime) -> datetime:
        """The first fire strictly after ``current`` (UTC)."""
        naive: datetime = croniter(self.expression, self._wall(current)).get_next(datetime)
        candidate = naive.replace(tzinfo=self.tz).astimezone(UTC)
        if candidate > current and self._steady(current) and self._steady(candidate):
            return candidate
        return self._search(current, forward=True)

    def prev_before(self, current: datetime) -> datetime:
        """The last fire strictly before ``current`` (UTC)."""
        naive: datetime = croniter(self.expression, self._wall(current)).get_prev(datetime)
        candidate = naive.replace(tzinfo=self.tz).astimezone(UTC)
        if candidate < current and self._steady(current) and self._steady(candidate):
            return candidate
        return self._search(current, forward=False)

    def align_up(self, current: datetime) -> datetime:
        """``current`` if it is a fire, else the next fire."""
        return self.next_after(max(current, _FLOOR) - _TICK)

    def align_down(self, current: datetime) -> datetime:
        """``current`` if it is a fire, else the previous fire."""
        return self.prev_before(current + _TICK)

    def _wall(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz).replace(tzinfo=None, fold=0)

    def _steady(self, instant: datetime) -> bool:
        """True when no UTC-offset change happens within the slack around ``instant``."""
        offsets = {(instant + k * _SLACK).astimezone(self.tz).utcoffset() for k in (-1, 0, 1)}
        return len(offsets) == 1

    def _instants(self, naive: datetime) -> list[datetime]:
        """The UTC instants at which wall time ``naive`` fires (0, 1 or 2 near DST changes)."""
        first = naive.replace(tzinfo=self.tz, fold=0)
        second = naive.replace(tzinfo=self.tz, fold=1)
        if first.utcoffset() == second.utcoffset():
            return [first.astimezone(UTC)]
        if self._wall(first) == naive:  # the wall time happens twice
            both = [first, second] if self.every_hour else [first]
            return [value.astimezone(UTC) for value in both]
        # The wall time does not exist; fold=0 maps it to just after the gap.
        return [] if self.every_hour else [first.astimezone(UTC)]

    def _search(self, current: datetime, *, forward: bool) -> datetime:
        """Scan wall times around ``current`` for the nearest fire; used near DST changes."""
        sign = 1 if forward else -1
        it = croniter(self.expression, self._wall(current) - sign * _SLACK)
        step = it.get_next if forward else it.get_prev
        best: datetime | None = None
        while True:
            naive: datetime = step(datetime)
            if best is not None and sign * (naive - self._wall(best)) > _SLACK:
                return best
            for instant in self._instants(naive):
                beyond = instant > current if forward else instant < current
                nearer = best is None or (instant < best if forward else instant > best)
                if beyond and nearer:
                    best = instant
