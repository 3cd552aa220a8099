"""A custom timetable written against Airflow's API, registered by a plugin, stored by path."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.compat.conftest import load_dags

PLUGIN = """
from datetime import timedelta

from pendulum import UTC, Date, DateTime, Time

from airflow.plugins_manager import AirflowPlugin
from airflow.timetables.base import DagRunInfo, DataInterval, Timetable


class NextWorkday(Timetable):
    def __init__(self, hour=0):
        self.hour = hour

    def serialize(self):
        return {"hour": self.hour}

    @classmethod
    def deserialize(cls, data):
        return cls(data["hour"])

    def infer_manual_data_interval(self, *, run_after):
        return DataInterval(run_after, run_after)

    def next_dagrun_info(self, *, last_automated_data_interval, restriction):
        day = (
            last_automated_data_interval.end.date() + timedelta(days=1)
            if last_automated_data_interval
            else restriction.earliest.date()
        )
        while day.weekday() >= 5:
            day += timedelta(days=1)
        start = DateTime.combine(day, Time(self.hour)).replace(tzinfo=UTC)
        return DagRunInfo.interval(start=start, end=start + timedelta(days=1))


class WorkdayPlugin(AirflowPlugin):
    name = "workday_timetable_plugin"
    timetables = [NextWorkday]
"""

DAG_FILE = """
import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator
from workday_plugin import NextWorkday

with DAG("workdays", start_date=pendulum.datetime(2026, 1, 3, tz="UTC"), schedule=NextWorkday(6)):
    EmptyOperator(task_id="noop")
"""


def test_custom_timetable_round_trips_by_import_path(tmp_path: Path) -> None:
    from tradewind.plugins_manager import load_plugins
    from tradewind.sdk.serialization import SerializedDag, serialize_dag
    from tradewind.sdk.timetables import TimeRestriction

    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "workday_plugin.py").write_text(PLUGIN)
    load_plugins(folder=str(plugins), reload=True)
    try:
        dag = load_dags(tmp_path, "workdays.py", DAG_FILE)["workdays"]
        data = serialize_dag(dag)
        assert data["timetable"] == {
            "__type": "custom",
            "classpath": "workday_plugin.NextWorkday",
            "value": {"hour": 6},
        }
        tt = SerializedDag(data).timetable
        first = tt.next_dagrun_info(  # the scheduler passes now=; Airflow's API has no such arg
            last_automated_data_interval=None,
            restriction=TimeRestriction(dag.start_date, None, True),
            now=datetime(2026, 1, 10, tzinfo=UTC),
        )
        assert first.data_interval.start == datetime(
            2026, 1, 5, 6, tzinfo=UTC
        )  # Saturday -> Monday
    finally:
        load_plugins(folder=str(tmp_path / "none"), reload=True)
        sys.path.remove(str(plugins))


def test_a_timetable_that_cannot_serialize_says_why(tmp_path: Path) -> None:
    from tradewind.errors import DagDefinitionError
    from tradewind.sdk.serialization import serialize_dag

    source = """
    import pendulum
    from airflow import DAG
    from airflow.timetables.base import Timetable

    class Odd(Timetable):
        def serialize(self):
            return {"when": pendulum.now()}

    with DAG("odd", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), schedule=Odd()) as dag:
        pass
    """
    dag = load_dags(tmp_path, "odd.py", source)["odd"]
    with pytest.raises(DagDefinitionError, match=r"timetable .*Odd cannot be serialized.*JSON"):
        serialize_dag(dag)
