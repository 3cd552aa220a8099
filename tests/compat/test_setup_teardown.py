"""Setup and teardown tasks, in Airflow 2 and 3 styles, with Airflow's run-state rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.compat.conftest import load_dags, run, states, xcom

TASKFLOW = """
import pendulum
from airflow.sdk import DAG, setup, task, task_group, teardown

with DAG("st_taskflow", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    @setup
    def create_cluster():
        return "cluster-1"

    @teardown
    def delete_cluster(cluster_id):
        return f"deleted {cluster_id}"

    @task
    def work(fail):
        if fail:
            raise RuntimeError("work failed")
        return "worked"

    @task_group
    def section():
        @setup
        def inner_setup():
            return "inner"

        @teardown
        def inner_teardown(x):
            raise RuntimeError("a failing teardown does not fail the run")

        s = inner_setup()
        work.override(task_id="inner_work")(False) >> inner_teardown(s)

    with delete_cluster(create_cluster()):
        work.override(task_id="outer_work")("{{ params.get('fail', '') }}")
        section()
"""


def test_teardown_runs_after_failed_work_and_its_failure_is_ignored(
    env: Any, tmp_path: Path
) -> None:
    dag = load_dags(tmp_path, "st.py", TASKFLOW)["st_taskflow"]
    assert dag.get_task("create_cluster").is_setup
    assert dag.get_task("delete_cluster").is_teardown
    assert "create_cluster" in dag.get_task("outer_work").upstream_task_ids
    assert "outer_work" in dag.get_task("delete_cluster").upstream_task_ids
    assert "section.inner_teardown" in dag.get_task("delete_cluster").upstream_task_ids

    ok = run(dag, env)
    assert states(ok)["section.inner_teardown"] == "failed"
    assert ok.state == "success", states(ok)  # the failed teardown is not a leaf that counts
    assert xcom(env, ok, "delete_cluster") == "deleted cluster-1"

    failed = run(dag, env, conf={"fail": "yes"}, logical_date=ok.tasks[0].start_date)
    got = states(failed)
    assert got["outer_work"] == "failed"
    assert got["delete_cluster"] == "success"  # the teardown ran after the failed work
    assert failed.state == "failed"


CLASSIC = """
import pendulum
from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("st_classic", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    create = BashOperator(task_id="create", bash_command="exit 1").as_setup()
    work = BashOperator(task_id="work", bash_command="echo work")
    delete = BashOperator(task_id="delete", bash_command="echo bye").as_teardown(setups=create)
    create >> work >> delete
"""


def test_a_failed_setup_fails_its_work_and_its_teardown(env: Any, tmp_path: Path) -> None:
    dag = load_dags(tmp_path, "st_classic.py", CLASSIC)["st_classic"]
    result = run(dag, env)
    assert states(result) == {
        "create": "failed",
        "work": "upstream_failed",
        "delete": "upstream_failed",
    }
    assert result.state == "failed"
