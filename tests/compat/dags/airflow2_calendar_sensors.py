"""An Airflow 2 style DAG file with calendar branching, sensors and latest-only.

Written for Tradewind's compatibility suite; it runs unmodified on Airflow 2.10.
"""

from __future__ import annotations

import datetime

import pendulum
from airflow.decorators import dag, task
from airflow.operators.empty import EmptyOperator
from airflow.operators.latest_only import LatestOnlyOperator
from airflow.operators.weekday import BranchDayOfWeekOperator
from airflow.sensors.bash import BashSensor
from airflow.sensors.python import PythonSensor
from airflow.sensors.time_delta import TimeDeltaSensorAsync
from airflow.utils.weekday import WeekDay


@dag(
    schedule="0 6 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 0},
    tags=["compat", "airflow2"],
)
def airflow2_calendar_sensors():
    weekend = BranchDayOfWeekOperator(
        task_id="weekend",
        week_day={WeekDay.SATURDAY, WeekDay.SUNDAY},
        follow_task_ids_if_true="weekend_batch",
        follow_task_ids_if_false="weekday_batch",
        use_task_logical_date=True,
    )
    ready = PythonSensor(task_id="ready", python_callable=lambda: True, poke_interval=0.1)
    file_ok = BashSensor(task_id="file_ok", bash_command="test -d /", poke_interval=0.1)
    pause = TimeDeltaSensorAsync(task_id="pause", delta=datetime.timedelta(seconds=0))

    @task
    def weekday_batch(ds=None):
        return f"weekday {ds}"

    @task
    def weekend_batch(ds=None):
        return f"weekend {ds}"

    latest = LatestOnlyOperator(task_id="latest_only")
    notify = EmptyOperator(task_id="notify")

    [ready, file_ok, pause] >> weekend
    weekend >> [weekday_batch(), weekend_batch()]
    latest >> notify


airflow2_calendar_sensors()
