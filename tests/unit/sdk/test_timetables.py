"""Timetables: which runs a DAG gets, with which data intervals, across DST and catchup."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradewind.errors import DagDefinitionError
from tradewind.sdk.timetables import (
    ContinuousTimetable,
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    DagRunInfo,
    DataInterval,
    DeltaDataIntervalTimetable,
    NullTimetable,
    OnceTimetable,
    TimeRestriction,
    Timetable,
    deserialize_timetable,
    timetable_from_schedule,
)

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2024, 6, 10, 10, 30, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def runs(
    timetable: Timetable,
    start: datetime | None,
    count: int,
    *,
    end: datetime | None = None,
    catchup: bool = True,
    now: datetime = NOW,
) -> list[DagRunInfo]:
    """Play the scheduler: ask for the next run ``count`` times, feeding back the last one."""
    restriction = TimeRestriction(earliest=start, latest=end, catchup=catchup)
    found: list[DagRunInfo] = []
    last: DataInterval | None = None
    for _ in range(count):
        info = timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction, now=now
        )
        if info is None:
            break
        found.append(info)
        last = info.data_interval
    return found


def local_starts(infos: list[DagRunInfo], tz: ZoneInfo) -> list[str]:
    return [info.data_interval.start.astimezone(tz).isoformat() for info in infos]


# --- catchup and end_date -------------------------------------------------------------------


def test_catchup_yields_every_interval_since_start_date_one_after_the_other() -> None:
    infos = runs(CronDataIntervalTimetable("@daily"), utc(2024, 6, 7), 4)
    assert [i.data_interval for i in infos[:3]] == [
        DataInterval(utc(2024, 6, 7), utc(2024, 6, 8)),
        DataInterval(utc(2024, 6, 8), utc(2024, 6, 9)),
        DataInterval(utc(2024, 6, 9), utc(2024, 6, 10)),
    ]
    assert [i.logical_date for i in infos[:3]] == [
        utc(2024, 6, 7),
        utc(2024, 6, 8),
        utc(2024, 6, 9),
    ]
    assert [i.run_after for i in infos[:3]] == [utc(2024, 6, 8), utc(2024, 6, 9), utc(2024, 6, 10)]
    # The fourth interval is not over yet: it is returned, due tomorrow.
    assert infos[3].run_after == utc(2024, 6, 11) and infos[3].run_after > NOW


def test_catchup_false_gives_only_the_latest_complete_interval() -> None:
    infos = runs(CronDataIntervalTimetable("@daily"), utc(2024, 6, 7), 2, catchup=False)
    assert infos[0].data_interval == DataInterval(utc(2024, 6, 9), utc(2024, 6, 10))
    assert infos[1].data_interval == DataInterval(utc(2024, 6, 10), utc(2024, 6, 11))


@pytest.mark.parametrize(
    "timetable",
    [CronDataIntervalTimetable("@daily"), CronTriggerTimetable("@daily", timezone=NEW_YORK)],
    ids=["data-interval", "trigger-new-york"],
)
def test_start_date_datetime_min_without_catchup_gives_the_latest_day(timetable) -> None:
    # Airflow's example_outlet_event_extra.py writes start_date=datetime.datetime.min: one
    # step back from it overflowed, and `dags list` crashed on the whole folder.
    infos = runs(timetable, datetime.min.replace(tzinfo=UTC), 1, catchup=False)
    assert len(infos) == 1
    assert infos[0].run_after <= NOW
    assert NOW - infos[0].run_after < timedelta(days=1, hours=6)


def test_catchup_false_skips_over_a_long_pause_after_the_last_run() -> None:
    timetable = CronDataIntervalTimetable("@daily")
    info = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(utc(2024, 1, 1), utc(2024, 1, 2)),
        restriction=TimeRestriction(earliest=utc(2024, 1, 1), latest=None, catchup=False),
        now=NOW,
    )
    assert info is not None
    assert info.data_interval == DataInterval(utc(2024, 6, 9), utc(2024, 6, 10))


def test_catchup_false_when_now_is_exactly_on_a_fire_takes_the_interval_just_ended() -> None:
    infos = runs(
        CronDataIntervalTimetable("@daily"), utc(2024, 6, 1), 1, catchup=False, now=utc(2024, 6, 10)
    )
    assert infos[0].data_interval == DataInterval(utc(2024, 6, 9), utc(2024, 6, 10))


def test_catchup_false_with_a_future_start_date_waits_for_it() -> None:
    infos = runs(CronDataIntervalTimetable("@daily"), utc(2024, 7, 1, 5), 1, catchup=False)
    assert infos[0].data_interval == DataInterval(utc(2024, 7, 2), utc(2024, 7, 3))


def test_end_date_stops_runs_after_the_last_logical_date_it_allows() -> None:
    infos = runs(CronDataIntervalTimetable("@daily"), utc(2024, 6, 7), 10, end=utc(2024, 6, 8, 12))
    assert [i.logical_date for i in infos] == [utc(2024, 6, 7), utc(2024, 6, 8)]


def test_start_date_off_schedule_aligns_to_the_next_fire() -> None:
    infos = runs(CronDataIntervalTimetable("0 10 * * *"), utc(2024, 6, 7, 11), 1)
    assert infos[0].data_interval == DataInterval(utc(2024, 6, 8, 10), utc(2024, 6, 9, 10))


def test_naive_datetimes_are_taken_as_utc() -> None:
    naive = runs(CronDataIntervalTimetable("@daily"), datetime(2024, 6, 7), 2)
    assert naive == runs(CronDataIntervalTimetable("@daily"), utc(2024, 6, 7), 2)
    assert naive[0].logical_date.tzinfo is not None


# --- DST and month ends ---------------------------------------------------------------------


def test_berlin_2am_daily_across_spring_forward_runs_right_after_the_gap() -> None:
    infos = runs(CronDataIntervalTimetable("0 2 * * *", BERLIN), utc(2024, 3, 30), 3)
    assert local_starts(infos, BERLIN) == [
        "2024-03-30T02:00:00+01:00",
        "2024-03-31T03:00:00+02:00",  # 02:00 does not exist that night
        "2024-04-01T02:00:00+02:00",
    ]


def test_berlin_2am_daily_across_fall_back_runs_once() -> None:
    infos = runs(CronDataIntervalTimetable("0 2 * * *", BERLIN), utc(2024, 10, 27), 3)
    assert local_starts(infos, BERLIN) == [
        "2024-10-27T02:00:00+02:00",  # the first of the two 02:00s, and only that one
        "2024-10-28T02:00:00+01:00",
        "2024-10-29T02:00:00+01:00",
    ]
    assert infos[0].data_interval.end - infos[0].data_interval.start == timedelta(hours=25)


def test_10am_stays_10am_local_across_both_dst_changes() -> None:
    timetable = timetable_from_schedule("0 10 * * *", timezone=BERLIN)
    infos = runs(timetable, utc(2024, 3, 25), 220)
    assert {i.logical_date.astimezone(BERLIN).hour for i in infos} == {10}
    assert {i.logical_date.astimezone(BERLIN).utcoffset() for i in infos} == {
        timedelta(hours=1),
        timedelta(hours=2),
    }


def test_new_york_hourly_across_fall_back_runs_in_both_1am_hours() -> None:
    infos = runs(CronDataIntervalTimetable("@hourly", NEW_YORK), utc(2024, 11, 3, 4), 4)
    assert local_starts(infos, NEW_YORK) == [
        "2024-11-03T00:00:00-04:00",
        "2024-11-03T01:00:00-04:00",
        "2024-11-03T01:00:00-05:00",
        "2024-11-03T02:00:00-05:00",
    ]
    assert all(i.run_after - i.logical_date == timedelta(hours=1) for i in infos)


def test_new_york_hourly_across_spring_forward_has_no_gap_in_real_time() -> None:
    infos = runs(CronDataIntervalTimetable("30 * * * *", NEW_YORK), utc(2024, 3, 10, 6), 3)
    assert local_starts(infos, NEW_YORK) == [
        "2024-03-10T01:30:00-05:00",
        "2024-03-10T03:30:00-04:00",
        "2024-03-10T04:30:00-04:00",
    ]


def test_new_york_2am_daily_on_spring_forward_runs_at_3am() -> None:
    infos = runs(CronDataIntervalTimetable("0 2 * * *", "America/New_York"), utc(2024, 3, 9), 2)
    assert local_starts(infos, NEW_YORK)[1] == "2024-03-10T03:00:00-04:00"


def test_31st_of_the_month_skips_shorter_months() -> None:
    infos = runs(CronDataIntervalTimetable("0 0 31 * *"), utc(2024, 1, 1), 4)
    assert [i.logical_date.date().isoformat() for i in infos] == [
        "2024-01-31",
        "2024-03-31",
        "2024-05-31",
        "2024-07-31",
    ]


def test_last_day_of_month_with_l() -> None:
    infos = runs(CronDataIntervalTimetable("0 0 L * *"), utc(2024, 1, 1), 3)
    assert [i.logical_date.date().isoformat() for i in infos] == [
        "2024-01-31",
        "2024-02-29",
        "2024-03-31",
    ]


def test_hourly_intervals_last_one_hour() -> None:
    infos = runs(timetable_from_schedule("@hourly", timezone=UTC), utc(2024, 6, 10, 7, 15), 3)
    assert [i.data_interval for i in infos] == [
        DataInterval(utc(2024, 6, 10, 8), utc(2024, 6, 10, 9)),
        DataInterval(utc(2024, 6, 10, 9), utc(2024, 6, 10, 10)),
        DataInterval(utc(2024, 6, 10, 10), utc(2024, 6, 10, 11)),
    ]


# --- timedelta, once, null, continuous, trigger ---------------------------------------------


def test_timedelta_intervals_are_aligned_on_start_date() -> None:
    timetable = timetable_from_schedule(timedelta(hours=6), timezone=UTC)
    caught_up = runs(timetable, utc(2024, 6, 7, 3), 2)
    assert [i.data_interval for i in caught_up] == [
        DataInterval(utc(2024, 6, 7, 3), utc(2024, 6, 7, 9)),
        DataInterval(utc(2024, 6, 7, 9), utc(2024, 6, 7, 15)),
    ]
    latest = runs(timetable, utc(2024, 6, 7, 3), 1, catchup=False)
    assert latest[0].data_interval == DataInterval(utc(2024, 6, 10, 3), utc(2024, 6, 10, 9))


def test_timedelta_must_be_positive() -> None:
    with pytest.raises(DagDefinitionError, match="positive"):
        timetable_from_schedule(timedelta(0), timezone=UTC)


@pytest.mark.parametrize("catchup", [True, False])
def test_once_runs_a_single_time_at_start_date(catchup: bool) -> None:
    infos = runs(
        timetable_from_schedule("@once", timezone=UTC), utc(2024, 1, 1), 5, catchup=catchup
    )
    assert infos == [DagRunInfo.exact(utc(2024, 1, 1))]
    assert runs(OnceTimetable(), utc(2024, 1, 2), 1, end=utc(2024, 1, 1)) == []
    assert runs(OnceTimetable(), None, 1) == []


def test_null_schedule_is_manual_only() -> None:
    timetable = timetable_from_schedule(None, timezone=UTC)
    assert isinstance(timetable, NullTimetable)
    assert not timetable.can_be_scheduled and not timetable.periodic
    assert runs(timetable, utc(2024, 1, 1), 1) == []
    assert timetable.infer_manual_data_interval(run_after=NOW) == DataInterval(NOW, NOW)


def test_continuous_covers_from_last_end_to_now_one_run_at_a_time() -> None:
    timetable = timetable_from_schedule("@continuous", timezone=UTC)
    assert timetable.active_runs_limit == 1
    restriction = TimeRestriction(earliest=utc(2024, 6, 1), latest=None, catchup=False)
    first = timetable.next_dagrun_info(
        last_automated_data_interval=None, restriction=restriction, now=NOW
    )
    assert first == DagRunInfo.interval(utc(2024, 6, 1), NOW)
    later = NOW + timedelta(seconds=7)
    second = timetable.next_dagrun_info(
        last_automated_data_interval=first.data_interval, restriction=restriction, now=later
    )
    assert second == DagRunInfo.interval(NOW, later)
    assert list(timetable.iter_dagrun_infos_between(utc(2024, 1, 1), NOW)) == []


def test_cron_trigger_logical_date_is_the_fire_time() -> None:
    timetable = CronTriggerTimetable("0 10 * * *", BERLIN, interval=timedelta(hours=1))
    infos = runs(timetable, utc(2024, 6, 8), 2)
    assert infos[0].logical_date == infos[0].run_after == utc(2024, 6, 8, 8)
    assert infos[0].data_interval == DataInterval(utc(2024, 6, 8, 7), utc(2024, 6, 8, 8))
    assert infos[1].logical_date == utc(2024, 6, 9, 8)
    latest = runs(timetable, utc(2024, 6, 1), 2, catchup=False)
    assert [i.run_after for i in latest] == [utc(2024, 6, 10, 8), utc(2024, 6, 11, 8)]


# --- bad schedules --------------------------------------------------------------------------


def test_a_cron_that_never_fires_is_rejected_with_the_expression_quoted() -> None:
    with pytest.raises(DagDefinitionError, match=r"'0 0 30 2 \*' never fires"):
        timetable_from_schedule("0 0 30 2 *", timezone=UTC)


@pytest.mark.parametrize("expression", ["61 * * * *", "not a cron", "* * * * * *", "@sometimes"])
def test_a_malformed_cron_is_rejected_with_the_expression_quoted(expression: str) -> None:
    with pytest.raises(DagDefinitionError, match="Invalid cron expression") as raised:
        timetable_from_schedule(expression, timezone=UTC)
    assert repr(expression) in str(raised.value)


def test_unsupported_schedule_type_and_unknown_timezone_are_rejected() -> None:
    with pytest.raises(DagDefinitionError, match="Unsupported schedule 42"):
        timetable_from_schedule(42, timezone=UTC)
    with pytest.raises(DagDefinitionError, match="Unknown timezone"):
        CronDataIntervalTimetable("@daily", "Mars/Olympus")


def test_a_timetable_instance_is_used_as_given() -> None:
    timetable = CronTriggerTimetable("@daily")
    assert timetable_from_schedule(timetable, timezone=BERLIN) is timetable


# --- serialization, summary, manual runs, backfill ------------------------------------------

ALL_KINDS: list[Timetable] = [
    CronDataIntervalTimetable("0 10 * * *", BERLIN),
    CronDataIntervalTimetable("@daily", timezone(timedelta(hours=-3))),
    CronTriggerTimetable("*/5 * * * *", NEW_YORK, interval=timedelta(minutes=5)),
    DeltaDataIntervalTimetable(timedelta(days=1, microseconds=7)),
    OnceTimetable(),
    NullTimetable(),
    ContinuousTimetable(),
]


@pytest.mark.parametrize("timetable", ALL_KINDS, ids=repr)
def test_serialize_round_trips_through_json(timetable: Timetable) -> None:
    data = json.loads(json.dumps(timetable.serialize()))
    rebuilt = deserialize_timetable(data)
    assert rebuilt == timetable
    assert rebuilt.summary == timetable.summary
    assert runs(rebuilt, utc(2024, 6, 1), 3) == runs(timetable, utc(2024, 6, 1), 3)


def test_summaries_match_what_airflow_shows() -> None:
    summaries = [
        timetable_from_schedule(s, timezone=UTC).summary
        for s in ["0 10 * * *", "@daily", timedelta(days=1), None, "@once", "@continuous"]
    ]
    assert summaries == ["0 10 * * *", "@daily", "1 day, 0:00:00", "None", "@once", "@continuous"]


def test_unknown_serialized_type_is_rejected() -> None:
    with pytest.raises(DagDefinitionError, match="'bogus'"):
        deserialize_timetable({"__type": "bogus"})


def test_manual_run_covers_the_last_complete_interval() -> None:
    timetable = CronDataIntervalTimetable("@daily")
    interval = timetable.infer_manual_data_interval(run_after=utc(2024, 6, 25, 1))
    assert interval == DataInterval(utc(2024, 6, 24), utc(2024, 6, 25))
    delta = DeltaDataIntervalTimetable(timedelta(hours=2))
    assert delta.infer_manual_data_interval(run_after=NOW) == DataInterval(
        NOW - timedelta(hours=2), NOW
    )


def test_iter_between_gives_every_logical_date_in_the_closed_range_for_backfill() -> None:
    timetable = CronDataIntervalTimetable("@daily")
    infos = list(timetable.iter_dagrun_infos_between(utc(2024, 6, 1, 12), utc(2024, 6, 5)))
    assert [i.logical_date.day for i in infos] == [2, 3, 4, 5]
    assert infos[-1].data_interval.end == utc(2024, 6, 6)
    trigger = CronTriggerTimetable("0 */12 * * *")
    fires = list(trigger.iter_dagrun_infos_between(utc(2024, 6, 1), utc(2024, 6, 2)))
    assert [i.logical_date.hour for i in fires] == [0, 12, 0]
    once = list(OnceTimetable().iter_dagrun_infos_between(utc(2024, 6, 1), utc(2024, 6, 2)))
    assert once == [DagRunInfo.exact(utc(2024, 6, 1))]
    assert list(NullTimetable().iter_dagrun_infos_between(utc(2024, 6, 1), NOW)) == []


# --- properties -----------------------------------------------------------------------------

ZONES = [UTC, BERLIN, NEW_YORK, ZoneInfo("Asia/Kolkata"), ZoneInfo("Australia/Lord_Howe")]
SCHEDULES = ["@hourly", "@daily", "@weekly", "@monthly", "@yearly", "30 2 * * *", "*/20 * * * *"]
start_dates = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1))


@settings(max_examples=60, deadline=None)
@given(schedule=st.sampled_from(SCHEDULES), tz=st.sampled_from(ZONES), start=start_dates)
def test_consecutive_intervals_are_contiguous_and_increasing(
    schedule: str, tz: ZoneInfo, start: datetime
) -> None:
    infos = runs(CronDataIntervalTimetable(schedule, tz), start.replace(tzinfo=tz), 12)
    assert len(infos) == 12
    for info, following in zip(infos, infos[1:], strict=False):
        assert info.data_interval.start < info.data_interval.end == following.data_interval.start
        assert info.logical_date == info.data_interval.start
        assert info.run_after == info.data_interval.end


@settings(max_examples=40, deadline=None)
@given(
    minutes=st.sets(st.sampled_from([0, 15, 30, 45]), min_size=1),
    tz=st.sampled_from([BERLIN, NEW_YORK]),
    year=st.integers(2000, 2037),
    spring=st.booleans(),
)
def test_every_hour_crons_fire_at_exactly_the_instants_whose_wall_clock_matches(
    minutes: set[int], tz: ZoneInfo, year: int, spring: bool
) -> None:
    # Brute force: walk real time minute by minute over a DST change, read the local clock.
    transition = _dst_change(tz, year, spring)
    start, end = transition - timedelta(hours=3), transition + timedelta(hours=3)
    expected = [
        start + timedelta(minutes=m)
        for m in range(0, 6 * 60 + 1)
        if (start + timedelta(minutes=m)).astimezone(tz).minute in minutes
    ]
    cron = ",".join(str(m) for m in sorted(minutes)) + " * * * *"
    infos = CronDataIntervalTimetable(cron, tz).iter_dagrun_infos_between(start, end)
    assert [i.logical_date for i in infos] == expected


def _dst_change(tz: ZoneInfo, year: int, spring: bool) -> datetime:
    """The UTC instant (to the hour) of the spring or autumn UTC-offset change in ``year``."""
    moment = utc(year, 1, 1) if spring else utc(year, 7, 1)
    offset = moment.astimezone(tz).utcoffset()
    while moment.astimezone(tz).utcoffset() == offset:
        moment += timedelta(hours=1)
    return moment
