"""Bash tasks with retries: ``flaky`` fails on its first try and succeeds on the second."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tradewind import DAG
from tradewind.operators.bash import BashOperator

with DAG(
    "example_bash_retries",
    schedule="0 10 * * *",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["example"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=5)},
) as dag:
    hello = BashOperator(task_id="hello", bash_command='echo "run {{ run_id }} for {{ ds }}"')
    flaky = BashOperator(
        task_id="flaky",
        bash_command='if [ "{{ ti.try_number }}" -lt 2 ]; then echo "try {{ ti.try_number }} fails"; exit 1; fi; echo ok',
    )
    done = BashOperator(task_id="done", bash_command="echo done")
    hello >> flaky >> done
