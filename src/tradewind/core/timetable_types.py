"""Airflow's name for a DAG's timetable (``DagModel.timetable_type``), from its stored form.

Airflow keeps ``timetable.type_name``, the timetable class's ``module.ClassName``, on every
DAG row so ``GET /dags?timetable_type=...`` can filter on it. Tradewind's timetables are its
own classes, so a stored DAG is given the name of the Airflow class with the same meaning;
a custom timetable keeps its own import path, as in Airflow.
"""

from __future__ import annotations

from typing import Any

#: ``__type`` of a stored built-in timetable -> the Airflow class it stands for.
AIRFLOW_TIMETABLES = {
    "cron": "airflow.timetables.interval.CronDataIntervalTimetable",
    "delta": "airflow.timetables.interval.DeltaDataIntervalTimetable",
    "cron_trigger": "airflow.timetables.trigger.CronTriggerTimetable",
    "once": "airflow.timetables.simple.OnceTimetable",
    "null": "airflow.timetables.simple.NullTimetable",
    "continuous": "airflow.timetables.simple.ContinuousTimetable",
}
ASSET_TRIGGERED = "airflow.timetables.simple.AssetTriggeredTimetable"
ASSET_OR_TIME = "airflow.timetables.assets.AssetOrTimeSchedule"


def airflow_timetable_type(timetable: dict[str, Any] | None, asset_condition: Any) -> str | None:
    """The Airflow ``type_name`` of a stored timetable (and the DAG's asset condition).

    An asset condition on the null timetable is Airflow's ``AssetTriggeredTimetable``; on
    any other timetable, ``AssetOrTimeSchedule``. None for a form this does not know.
    """
    kind = (timetable or {}).get("__type")
    if kind == "custom":
        name = (timetable or {}).get("classpath")
        base = name if isinstance(name, str) else None
    else:
        base = AIRFLOW_TIMETABLES.get(kind) if isinstance(kind, str) else None
    if asset_condition:
        return ASSET_TRIGGERED if kind == "null" else ASSET_OR_TIME
    return base
