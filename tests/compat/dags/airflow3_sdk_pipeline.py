"""An Airflow 3 style DAG file: ``airflow.sdk`` TaskFlow, setup/teardown, groups, params.

Written for Tradewind's compatibility suite; it runs unmodified on Airflow 3.
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import (
    Label,
    Param,
    TriggerRule,
    chain,
    dag,
    get_current_context,
    setup,
    task,
    task_group,
    teardown,
)


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["compat", "airflow3"],
    params={"factor": Param(2, type="integer", minimum=1)},
)
def airflow3_sdk_pipeline():
    @setup
    def create_workspace():
        return "ws-42"

    @teardown
    def drop_workspace(workspace):
        return f"dropped {workspace}"

    @task(multiple_outputs=True)
    def load():
        return {"rows": [1, 2, 3, 4], "source": "api"}

    @task_group
    def compute(rows):
        @task
        def scale(values):
            factor = get_current_context()["params"]["factor"]
            return [v * factor for v in values]

        @task
        def total(values):
            return sum(values)

        return total(scale(rows))

    @task.branch
    def route(value):
        return "publish" if value > 10 else "hold"

    @task
    def publish(value, source):
        ctx = get_current_context()
        return f"{ctx['dag_run'].run_id}: {value} from {source}"

    workspace = create_workspace()
    data = load()
    result = compute(data["rows"])
    decision = route(result)
    hold = EmptyOperator(task_id="hold")
    done = BashOperator(
        task_id="done",
        bash_command="echo done",
        trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
    )
    published = publish(result, data["source"])
    decision >> Label("big enough") >> published
    decision >> Label("too small") >> hold
    chain([published, hold], done)
    workspace >> data
    done >> drop_workspace(workspace)


airflow3_sdk_pipeline()
