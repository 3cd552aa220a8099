"""LatestOnlyOperator: skip the downstream work of every run but the latest scheduled one."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from tradewind.operators.branch import BaseBranchOperator

log = logging.getLogger("tradewind.task")


class LatestOnlyOperator(BaseBranchOperator):
    """Let the downstream tasks run only in the run whose interval is the current one.

    Runs triggered by hand (and runs of DAGs without a periodic schedule) are never skipped;
    a scheduled run is "latest" when now lies between its data interval end and the end of
    the interval after it, as in Airflow.
    """

    ui_color = "#e9ffdb"

    def choose_branch(self, context: dict[str, Any]) -> list[str]:
        everything = sorted(self.downstream_task_ids)
        dag_run = context["dag_run"]
        if dag_run.run_type == "manual" or self.dag is None:
            log.info("Manual run: not skipping the downstream tasks")
            return everything
        start, end = context.get("data_interval_start"), context.get("data_interval_end")
        if start is None or end is None:
            return everything
        from tradewind.sdk.timetables import DataInterval, TimeRestriction

        now = datetime.now(UTC)
        following = self.dag.timetable.next_dagrun_info(
            last_automated_data_interval=DataInterval(start, end),
            restriction=TimeRestriction(earliest=None, latest=None, catchup=True),
            now=now,
        )
        if following is None:
            return everything
        left, right = end, following.data_interval.end
        log.info("Checking latest only: left %s < now %s <= right %s", left, now, right)
        if not left < now <= right:
            log.info("Not the latest run: skipping the downstream tasks")
            return []
        return everything
