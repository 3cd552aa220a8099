"""Timetables: when a DAG runs and which data interval each run covers.

Semantics follow Airflow 2, the default most DAG files rely on: a cron or timedelta schedule
gives *data-interval* runs, where a run covers ``[previous fire, next fire)``, its logical date is
the interval's start, and it is due at the interval's end. ``CronTriggerTimetable`` offers
Airflow 3's style instead (logical date == fire time).

Every method takes the clock as an argument (``now``); nothing here reads it. Naive datetimes
are taken as UTC and every datetime returned is timezone-aware UTC, while cron expressions are
evaluated on the wall clock of the DAG's timezone (DST included).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tradewind.errors import DagDefinitionError
from tradewind.sdk._cron import _TICK, UTC, _CronSchedule
from tradewind.sdk._cron import as_utc as as_utc  # re-exported: services import it from here


def _resolve_tz(tz: tzinfo | str) -> tzinfo:
    """Turn a zone name or any tzinfo (zoneinfo, pendulum, pytz) into a stdlib tzinfo."""
    if isinstance(tz, timezone | ZoneInfo):
        return tz
    if isinstance(tz, str):
        name: str | None = tz
    else:  # pytz exposes .zone, pendulum .name; both break plain datetime arithmetic
        name = getattr(tz, "key", None) or getattr(tz, "zone", None) or getattr(tz, "name", None)
    if name and name[0] in "+-":
        return datetime.strptime(name, "%z").tzinfo or UTC
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise DagDefinitionError(f"Unknown timezone {tz!r}; use an IANA name like 'Europe/Berlin'.")


def _tz_name(tz: tzinfo) -> str:
    """Name a timezone so that :func:`_resolve_tz` can rebuild it from JSON."""
    if isinstance(tz, ZoneInfo) and tz.key:
        return tz.key
    if tz is UTC:
        return "UTC"
    offset = datetime(2000, 1, 1, tzinfo=tz).strftime("%z")
    return f"{offset[:3]}:{offset[3:]}"


@dataclass(frozen=True)
class DataInterval:
    """The span of data a DAG run processes: ``[start, end)``."""

    start: datetime
    end: datetime

    @classmethod
    def exact(cls, at: datetime) -> DataInterval:
        """An empty interval at one instant (``@once``, ``None`` and manual runs)."""
        return cls(at, at)


@dataclass(frozen=True)
class TimeRestriction:
    """Bounds on automated runs: ``earliest`` is the start_date, ``latest`` the end_date."""

    earliest: datetime | None
    latest: datetime | None
    catchup: bool


@dataclass(frozen=True)
class DagRunInfo:
    """What the scheduler needs to create one run: when it is due and what it covers."""

    run_after: datetime
    data_interval: DataInterval
    logical_date: datetime

    @classmethod
    def interval(cls, start: datetime, end: datetime) -> DagRunInfo:
        """A data-interval run: due at ``end``, logical date ``start``."""
        return cls(run_after=end, data_interval=DataInterval(start, end), logical_date=start)

    @classmethod
    def exact(cls, at: datetime) -> DagRunInfo:
        """A run at one instant with an empty data interval."""
        return cls(run_after=at, data_interval=DataInterval.exact(at), logical_date=at)


class Timetable:
    """Base of all timetables; the scheduler only calls the methods defined here."""

    periodic: bool = False
    can_be_scheduled: bool = True
    #: Most runs that may be active at once, whatever the DAG says (``None``: no limit).
    active_runs_limit: int | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Airflow's custom timetables define ``next_dagrun_info`` without ``now``: accept it."""
        super().__init_subclass__(**kwargs)
        fn = cls.__dict__.get("next_dagrun_info")
        if fn is not None and "now" not in inspect.signature(fn).parameters:

            @functools.wraps(fn)
            def without_now(self: Any, *, now: datetime | None = None, **kw: Any) -> Any:
                return fn(self, **kw)

            cls.next_dagrun_info = without_now  # type: ignore[method-assign]

    @property
    def summary(self) -> str:
        """Short text for the UI, e.g. ``"@daily"`` or ``"0 10 * * *"``."""
        return type(self).__name__

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Timetable:
        """Rebuild a custom timetable from its :meth:`serialize` output (Airflow's API)."""
        return cls()

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        """The data interval of a run triggered by hand at ``run_after``."""
        return DataInterval.exact(as_utc(run_after))

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
        now: datetime,
    ) -> DagRunInfo | None:
        """The next automated run after the last one, or ``None`` if there is none.

        Args:
            last_automated_data_interval: Data interval of the latest scheduled run, if any.
            restriction: start_date, end_date and catchup of the DAG.
            now: The current time; only used when catchup is off (and by ``@continuous``).

        Returns:
            The run to create; its ``run_after`` may lie in the future (create it then).
        """
        raise NotImplementedError

    def iter_dagrun_infos_between(self, start: datetime, end: datetime) -> Iterator[DagRunInfo]:
        """All runs whose logical date is in ``[start, end]`` (for backfills), in order."""
        start, end = as_utc(start), as_utc(end)
        restriction = TimeRestriction(earliest=start, latest=end, catchup=True)
        last: DataInterval | None = None
        while True:
            info = self.next_dagrun_info(
                last_automated_data_interval=last, restriction=restriction, now=end
            )
            if info is None or info.logical_date > end:
                return
            if last is not None and info.data_interval == last:
                return  # guards against a timetable that would repeat itself forever
            yield info
            last = info.data_interval

    def serialize(self) -> dict[str, Any]:
        """A JSON-safe dict that :meth:`deserialize` turns back into this timetable."""
        return {}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timetable) or type(other) is not type(self):
            return NotImplemented
        return self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash(repr(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.summary!r})"


class _DataIntervalTimetable(Timetable):
    """Airflow 2's data-interval logic shared by the cron and timedelta timetables."""

    periodic = True

    def _get_next(self, current: datetime) -> datetime:
        raise NotImplementedError

    def _align_to_next(self, current: datetime) -> datetime:
        raise NotImplementedError

    def _align_to_prev(self, current: datetime) -> datetime:
        raise NotImplementedError

    def _skip_to_latest(self, earliest: datetime | None, now: datetime) -> datetime:
        """Start of the latest complete interval (end <= now), not before ``earliest``."""
        raise NotImplementedError

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
        now: datetime,
    ) -> DagRunInfo | None:
        """See :meth:`Timetable.next_dagrun_info`."""
        earliest = as_utc(restriction.earliest) if restriction.earliest else None
        if not restriction.catchup:
            earliest = self._skip_to_latest(earliest, as_utc(now))
        elif earliest is not None:
            earliest = self._align_to_next(earliest)
        if last_automated_data_interval is None:
            if earliest is None:
                return None
            start = earliest
        else:
            # Aligning lets a DAG whose schedule changed continue on the new one.
            start = self._align_to_prev(as_utc(last_automated_data_interval.end))
            if earliest is not None:
                start = max(start, earliest)
        if restriction.latest is not None and start > as_utc(restriction.latest):
            return None
        return DagRunInfo.interval(start, self._get_next(start))


class CronDataIntervalTimetable(_DataIntervalTimetable):
    """Runs on a cron expression; each run covers the time since the previous fire.

    Args:
        cron: A 5-field cron expression or a preset (``@hourly``, ``@daily``...).
        timezone: Zone whose wall clock the expression follows (a tzinfo or IANA name).
    """

    def __init__(self, cron: str, timezone: tzinfo | str = UTC) -> None:
        self._expression = cron
        self._cron = _CronSchedule(cron, _resolve_tz(timezone))

    @property
    def summary(self) -> str:
        return self._expression

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        """The last complete interval before ``run_after``."""
        end = self._cron.align_down(as_utc(run_after))
        return DataInterval(self._cron.prev_before(end), end)

    def serialize(self) -> dict[str, Any]:
        return {"__type": "cron", "expression": self._expression, "timezone": self._tz}

    @property
    def _tz(self) -> str:
        return _tz_name(self._cron.tz)

    def _get_next(self, current: datetime) -> datetime:
        return self._cron.next_after(current)

    def _align_to_next(self, current: datetime) -> datetime:
        return self._cron.align_up(current)

    def _align_to_prev(self, current: datetime) -> datetime:
        return self._cron.align_down(current)

    def _skip_to_latest(self, earliest: datetime | None, now: datetime) -> datetime:
        start = self._cron.prev_before(self._cron.align_down(now))
        return start if earliest is None else max(start, self._cron.align_up(earliest))


class DeltaDataIntervalTimetable(_DataIntervalTimetable):
    """Runs every ``delta`` of real time, intervals aligned on the start_date."""

    def __init__(self, delta: timedelta) -> None:
        if delta <= timedelta(0):
            raise DagDefinitionError(f"Schedule timedelta must be positive, got {delta!r}.")
        self._delta = delta

    @property
    def summary(self) -> str:
        return str(self._delta)

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        """The ``delta`` that ends at ``run_after``."""
        end = as_utc(run_after)
        return DataInterval(end - self._delta, end)

    def serialize(self) -> dict[str, Any]:
        return {"__type": "delta", "microseconds": self._delta // _TICK}

    def _get_next(self, current: datetime) -> datetime:
        return current + self._delta

    def _align_to_next(self, current: datetime) -> datetime:
        return current

    def _align_to_prev(self, current: datetime) -> datetime:
        return current

    def _skip_to_latest(self, earliest: datetime | None, now: datetime) -> datetime:
        if earliest is None:
            return now - self._delta
        complete = (now - earliest) // self._delta  # whole intervals ended by now
        return earliest + max(complete - 1, 0) * self._delta


class CronTriggerTimetable(Timetable):
    """Airflow 3's default style: a run per cron fire, logical date == fire time.

    Args:
        cron: A 5-field cron expression or a preset.
        timezone: Zone whose wall clock the expression follows.
        interval: Length of the data interval that ends at each fire (default: empty).
    """

    periodic = True

    def __init__(
        self, cron: str, timezone: tzinfo | str = UTC, interval: timedelta = timedelta(0)
    ) -> None:
        self._expression = cron
        self._cron = _CronSchedule(cron, _resolve_tz(timezone))
        self._interval = interval

    @property
    def summary(self) -> str:
        return self._expression

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        """The ``interval`` that ends at ``run_after``."""
        end = as_utc(run_after)
        return DataInterval(end - self._interval, end)

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
        now: datetime,
    ) -> DagRunInfo | None:
        """See :meth:`Timetable.next_dagrun_info`; without catchup, the latest fire <= now."""
        earliest = as_utc(restriction.earliest) if restriction.earliest else None
        last_end = (
            as_utc(last_automated_data_interval.end) if last_automated_data_interval else None
        )
        candidates = []
        if last_end is not None:
            candidates.append(self._cron.next_after(last_end))
        if earliest is not None and (last_end is None or not restriction.catchup):
            candidates.append(self._cron.align_up(earliest))
        if not restriction.catchup:
            candidates.append(self._cron.align_down(as_utc(now)))
        if not candidates:
            return None  # catchup without a start date: nowhere to start from
        fire = max(candidates)
        if restriction.latest is not None and fire > as_utc(restriction.latest):
            return None
        interval = DataInterval(fire - self._interval, fire)
        return DagRunInfo(run_after=fire, data_interval=interval, logical_date=fire)

    def serialize(self) -> dict[str, Any]:
        return {
            "__type": "cron_trigger",
            "expression": self._expression,
            "timezone": _tz_name(self._cron.tz),
            "interval_microseconds": self._interval // _TICK,
        }


class OnceTimetable(Timetable):
    """``@once``: a single run at the start_date, whatever catchup says."""

    @property
    def summary(self) -> str:
        return "@once"

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
        now: datetime,
    ) -> DagRunInfo | None:
        """One run at ``restriction.earliest``, then none."""
        if last_automated_data_interval is not None or restriction.earliest is None:
            return None
        at = as_utc(restriction.earliest)
        if restriction.latest is not None and at > as_utc(restriction.latest):
            return None
        return DagRunInfo.exact(at)

    def serialize(self) -> dict[str, Any]:
        return {"__type": "once"}


class NullTimetable(Timetable):
    """``schedule=None``: never scheduled, runs only when triggered."""

    can_be_scheduled = False

    @property
    def summary(self) -> str:
        return "None"

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
        now: datetime,
    ) -> DagRunInfo | None:
        """Always ``None``."""
        return None

    def serialize(self) -> dict[str, Any]:
        return {"__type": "null"}


class ContinuousTimetable(Timetable):
    """``@continuous``: one run at a time, the next as soon as the previous one ends."""

    active_runs_limit = 1

    @property
    def summary(self) -> str:
        return "@continuous"

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
        now: datetime,
    ) -> DagRunInfo | None:
        """A run covering ``[end of the last run, now]``, not before the start_date."""
        if restriction.earliest is None:
            return None
        now = as_utc(now)
        if last_automated_data_interval is not None:
            start, end = as_utc(last_automated_data_interval.end), now
        else:
            start = as_utc(restriction.earliest)
            end = max(start, now)
        if restriction.latest is not None and end > as_utc(restriction.latest):
            return None
        return DagRunInfo.interval(start, end)

    def iter_dagrun_infos_between(self, start: datetime, end: datetime) -> Iterator[DagRunInfo]:
        """Nothing: a continuous DAG has no past intervals to backfill."""
        return iter(())

    def serialize(self) -> dict[str, Any]:
        return {"__type": "continuous"}


def deserialize_timetable(data: dict[str, Any]) -> Timetable:
    """Rebuild a timetable from :meth:`Timetable.serialize` output."""
    kind = data.get("__type")
    if kind == "cron":
        return CronDataIntervalTimetable(data["expression"], data["timezone"])
    if kind == "cron_trigger":
        interval = timedelta(microseconds=data["interval_microseconds"])
        return CronTriggerTimetable(data["expression"], data["timezone"], interval)
    if kind == "delta":
        return DeltaDataIntervalTimetable(timedelta(microseconds=data["microseconds"]))
    simple: dict[str, type[Timetable]] = {
        "once": OnceTimetable,
        "null": NullTimetable,
        "continuous": ContinuousTimetable,
    }
    if kind in simple:
        return simple[kind]()
    if kind == "custom":
        from tradewind.sdk.timetable_json import custom_class

        return custom_class(data["classpath"]).deserialize(data["value"])
    raise DagDefinitionError(f"Unknown serialized timetable type {kind!r}.")


def timetable_from_schedule(schedule: object, *, timezone: tzinfo) -> Timetable:
    """Turn a DAG's ``schedule`` argument into a timetable.

    Args:
        schedule: A cron string or preset, ``"@once"``, ``"@continuous"``, a ``timedelta``,
            ``None`` or a :class:`Timetable` (returned as is).
        timezone: The timezone of the DAG's start_date; cron expressions follow its wall clock.

    Raises:
        DagDefinitionError: The schedule is of another type or the cron expression is invalid.
    """
    if isinstance(schedule, Timetable):
        return schedule
    if schedule is None:
        return NullTimetable()
    if isinstance(schedule, str):
        schedule = schedule.strip()
    if schedule == "@once":
        return OnceTimetable()
    if schedule == "@continuous":
        return ContinuousTimetable()
    if isinstance(schedule, str):
        return CronDataIntervalTimetable(schedule, timezone)
    if isinstance(schedule, timedelta):
        return DeltaDataIntervalTimetable(schedule)
    raise DagDefinitionError(
        f"Unsupported schedule {schedule!r} ({type(schedule).__name__}): use a cron string, "
        "a preset like '@daily', '@once', '@continuous', a timedelta, None or a Timetable."
    )
