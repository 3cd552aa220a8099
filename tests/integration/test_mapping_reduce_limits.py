"""A reduce whose result is over ``[core] max_xcom_size`` fails its try with an error that
names the task, the mapped task it reduced, the sizes and the limit (``dags test``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tradewind import DAG, task
from tradewind.core.execution_api import decode_error, encode_error
from tradewind.errors import XComTooLarge
from tradewind.metastore.tables import TaskInstanceHistory

from .test_mapping_runs import by_index, run, xcom


def _errors(env: Any, dag_id: str, task_id: str) -> list[str | None]:
    with env.db.session(readonly=True) as s:
        return list(
            s.execute(
                select(TaskInstanceHistory.error)
                .where(TaskInstanceHistory.dag_id == dag_id, TaskInstanceHistory.task_id == task_id)
                .order_by(TaskInstanceHistory.try_number)
            ).scalars()
        )


def _reduce_dag(dag_id: str, n: int) -> DAG:
    from .test_mapping_runs import DAY

    with DAG(dag_id=dag_id, start_date=DAY, schedule=None) as dag:

        @task
        def label(x: int) -> str:
            return f"row {x:04d} " + "x" * 30

        @task
        def collect(values: Any) -> list[str]:
            return list(values)  # the whole result: too big for one XCom

        @task
        def count(values: Any) -> int:
            return len(values)  # a summary: fine

        labels = label.expand(x=list(range(n)))
        collect(labels)
        count(labels)
    return dag


def test_a_reduce_over_max_xcom_size_fails_naming_task_upstream_size_and_limit(env: Any) -> None:
    env.settings.set("core", "max_xcom_size", 2000)
    result = run(_reduce_dag("reduce_too_big", 100), env)
    assert result.state == "failed"
    assert set(by_index(result, "label").values()) == {"success"}
    assert by_index(result, "collect") == {-1: "failed"}
    assert by_index(result, "count") == {-1: "success"}
    assert xcom(env, result, "count") == 100
    (error,) = _errors(env, "reduce_too_big", "collect")
    assert error is not None
    assert "XComTooLarge" in error
    assert "task 'collect', key 'return_value'" in error
    assert "over the limit of 2,000 bytes ([core] max_xcom_size)" in error
    assert "mapped task 'label' (100 results," in error
    size = int(error.split("XCom value is ")[1].split(" bytes")[0].replace(",", ""))
    assert size > 2000


def test_the_same_reduce_under_the_limit_succeeds(env: Any) -> None:
    env.settings.set("core", "max_xcom_size", 100_000)
    result = run(_reduce_dag("reduce_fits", 100), env)
    assert result.state == "success"
    assert len(xcom(env, result, "collect")) == 100
    assert xcom(env, result, "collect")[7] == "row 0007 " + "x" * 30


def test_a_too_large_push_of_a_plain_task_names_it_without_a_reduce_hint(env: Any) -> None:
    from .test_mapping_runs import DAY

    env.settings.set("core", "max_xcom_size", 100)
    with DAG(dag_id="push_too_big", start_date=DAY, schedule=None) as dag:

        @task
        def big() -> str:
            return "y" * 500

        big()
    result = run(dag, env)
    assert result.state == "failed"
    (error,) = _errors(env, "push_too_big", "big")
    assert error is not None
    assert "task 'big', key 'return_value': XCom value is 502 bytes" in error
    assert "reduces" not in error


def test_the_error_keeps_its_class_across_the_execution_api() -> None:
    wire = encode_error(XComTooLarge("task 'a': XCom value is 9 bytes"))
    assert wire["type"] == "XComTooLarge"
    again = decode_error(wire)
    assert isinstance(again, XComTooLarge)
    assert str(again) == "task 'a': XCom value is 9 bytes"
