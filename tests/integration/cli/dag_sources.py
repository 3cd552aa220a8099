"""DAG files the CLI tests write into a home's DAGs folder."""

from __future__ import annotations

import textwrap
from pathlib import Path

BRANCHY = """
from datetime import datetime, timedelta, timezone

from tradewind import DAG, Param, task
from tradewind.operators.bash import BashOperator
from tradewind.operators.empty import EmptyOperator

with DAG(
    "branchy",
    schedule="@daily",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    params={"n": Param(1, type="integer", minimum=0)},
) as dag:
    @task.branch
    def pick():
        return "left"

    left = EmptyOperator(task_id="left")
    right = EmptyOperator(task_id="right")
    join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
    flaky = BashOperator(
        task_id="flaky",
        retries=2,
        retry_delay=timedelta(hours=1),
        bash_command='[ "{{ ti.try_number }}" -ge 2 ] || exit 1; echo recovered',
    )
    broken = BashOperator(task_id="broken", bash_command="exit 3")
    after_broken = EmptyOperator(task_id="after_broken")
    cleanup = EmptyOperator(task_id="cleanup", trigger_rule="all_done")
    pick() >> [left, right] >> join >> flaky
    flaky >> broken >> [after_broken, cleanup]
"""

SIMPLE = """
from datetime import datetime, timezone

from tradewind import DAG, task

with DAG("simple", schedule="@daily", start_date=datetime(2026, 1, 1, tzinfo=timezone.utc)) as dag:
    @task
    def extract():
        print("extracting rows")
        return [1, 2, 3]

    @task
    def load(rows):
        print(f"loaded {sum(rows)}")

    load(extract())
"""

BROKEN = """
from tradewind import DAG

value = 1
raise ValueError("this DAG file is broken on purpose")
"""


def write_dag(folder: Path, name: str, source: str) -> Path:
    """Write ``source`` as ``folder/name`` and return its path."""
    path = folder / name
    path.write_text(textwrap.dedent(source).lstrip())
    return path
