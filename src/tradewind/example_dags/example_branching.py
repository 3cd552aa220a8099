"""Branching: weekdays and weekends take different paths, then join."""

from __future__ import annotations

from datetime import datetime, timezone

from tradewind import DAG, task
from tradewind.operators.empty import EmptyOperator

with DAG(
    "example_branching",
    schedule="@daily",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["example"],
) as dag:

    @task.branch
    def weekday_or_weekend(logical_date=None) -> str:
        return "weekend_report" if logical_date.weekday() >= 5 else "weekday_report"

    weekday = EmptyOperator(task_id="weekday_report")
    weekend = EmptyOperator(task_id="weekend_report")
    join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
    weekday_or_weekend() >> [weekday, weekend] >> join
