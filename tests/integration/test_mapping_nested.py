"""A task mapped again inside a mapped task group (``dags test``): ``G * n`` instances, instance
``m`` in group instance ``m // n`` with element ``m % n`` of its own input (Airflow's layout);
trigger rules and XCom pulls per group instance; the reduce outside the group sees them all."""

from __future__ import annotations

from typing import Any

from tradewind import DAG, task
from tradewind.decorators import task_group
from tradewind.operators.bash import BashOperator

from .test_mapping_runs import DAY, by_index, run, xcom


def _nested_dag(dag_id: str, broken: str = "") -> DAG:
    with DAG(dag_id=dag_id, start_date=DAY, schedule=None) as dag:

        @task
        def files() -> list[str]:
            return ["a", "b"]

        @task
        def parts() -> list[int]:
            return [1, 2, 3]

        @task
        def upper(name: str) -> str:
            return name.upper()

        @task
        def piece(name: str, part: int, prefix: str) -> str:
            if f"{name}:{part}" == broken:
                raise ValueError(f"{broken} is broken")
            return f"{prefix}{name}:{part}"

        @task
        def joined(values: Any) -> str:
            return ",".join(values)

        all_parts = parts()  # outside the group: the same count for every group instance

        @task_group
        def per_file(name: str) -> Any:
            pieces = piece.partial(name=name, prefix=upper(name)).expand(part=all_parts)
            BashOperator.partial(task_id="echo", env={"NAME": name}).expand(
                bash_command=["echo $NAME-x", "echo $NAME-y"]
            )
            return joined(pieces)

        @task(trigger_rule="all_done")
        def summary(values: Any) -> list[str]:
            return list(values)

        summary(per_file.expand(name=files()))
    return dag


def test_a_task_mapped_inside_a_mapped_group_gets_group_major_map_indexes(env: Any) -> None:
    result = run(_nested_dag("nested"), env)
    assert result.state == "success"
    assert by_index(result, "per_file.upper") == {0: "success", 1: "success"}
    assert by_index(result, "per_file.piece") == dict.fromkeys(range(6), "success")
    values = [xcom(env, result, "per_file.piece", i) for i in range(6)]
    assert values == ["Aa:1", "Aa:2", "Aa:3", "Bb:1", "Bb:2", "Bb:3"]
    # classic operator, partial() holding the group's argument
    assert [xcom(env, result, "per_file.echo", i) for i in range(4)] == ["a-x", "a-y", "b-x", "b-y"]
    # in the group, downstream of the nested task: the n values of its own group instance
    assert [xcom(env, result, "per_file.joined", i) for i in (0, 1)] == [
        "Aa:1,Aa:2,Aa:3",
        "Bb:1,Bb:2,Bb:3",
    ]
    assert xcom(env, result, "summary") == ["Aa:1,Aa:2,Aa:3", "Bb:1,Bb:2,Bb:3"]


def test_a_failed_nested_instance_fails_only_its_group_instance_downstream(env: Any) -> None:
    result = run(_nested_dag("nested_broken", broken="b:2"), env)
    assert by_index(result, "per_file.piece") == {
        0: "success",
        1: "success",
        2: "success",
        3: "success",
        4: "failed",
        5: "success",
    }
    assert by_index(result, "per_file.joined") == {0: "success", 1: "upstream_failed"}
    assert xcom(env, result, "summary") == ["Aa:1,Aa:2,Aa:3"]
    assert result.state == "success"  # as in Airflow: the leaves (all_done summary) decide


def test_an_all_done_task_after_a_nested_failure_gets_the_values_that_exist(env: Any) -> None:
    with DAG(dag_id="nested_all_done", start_date=DAY, schedule=None) as dag:

        @task
        def half(x: int, y: int) -> int:
            if y == 2:
                raise ValueError("no")
            return x * 10 + y

        @task(trigger_rule="all_done")
        def gather(values: Any) -> list[int]:
            return list(values)

        @task_group
        def grp(x: int) -> Any:
            return gather(half.partial(x=x).expand(y=[1, 2, 3]))

        grp.expand(x=[1, 2])
    result = run(dag, env)
    assert by_index(result, "grp.half") == {
        0: "success", 1: "failed", 2: "success", 3: "success", 4: "failed", 5: "success"
    }  # fmt: skip
    assert [xcom(env, result, "grp.gather", i) for i in (0, 1)] == [[11, 13], [21, 23]]


def test_a_nested_task_over_nothing_is_skipped_with_its_group_downstream(env: Any) -> None:
    with DAG(dag_id="nested_empty", start_date=DAY, schedule=None) as dag:

        @task
        def none() -> list[int]:
            return []

        @task
        def one(x: int, y: int) -> int:
            return x + y

        @task
        def after(values: Any) -> int:
            return len(values)

        empty = none()

        @task_group
        def grp(x: int) -> Any:
            return after(one.partial(x=x).expand(y=empty))

        grp.expand(x=[1, 2])
    result = run(dag, env)
    assert by_index(result, "grp.one") == {-1: "skipped"}
    assert by_index(result, "grp.after") == {
        -1: "skipped"
    }  # whole, as an in-group task after a skip
    assert result.state == "success"
