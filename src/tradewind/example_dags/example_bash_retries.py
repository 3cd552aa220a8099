"""Bash tasks with retries: ``flaky`` fails on its first try and succeeds on the second.

Values from the run (its id, the try number) reach the shell through ``env=``, never templated
into ``bash_command``: a run id or conf given by a user would otherwise be shell code.
"""

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
    hello = BashOperator(
        task_id="hello",
        bash_command='echo "run $RUN_ID for $DS"',
        env={"RUN_ID": "{{ run_id }}", "DS": "{{ ds }}"},
        append_env=True,
    )
    flaky = BashOperator(
        task_id="flaky",
        bash_command='if [ "$TRY" -lt 2 ]; then echo "try $TRY fails"; exit 1; fi; echo ok',
        env={"TRY": "{{ ti.try_number }}"},
        append_env=True,
    )
    done = BashOperator(task_id="done", bash_command="echo done")
    hello >> flaky >> done
