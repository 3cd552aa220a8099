"""Mapped DAGs run whole in process (``dags test``): expansion, the reduce, zero-length,
``max_map_length``, retries of one instance, named instances, trigger rules per map index."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from tradewind import DAG, task
from tradewind.dag_test import DagTestResult, run_dag_in_process
from tradewind.operators.bash import BashOperator

DAY = datetime(2026, 1, 1, tzinfo=timezone.utc)


def run(dag: DAG, env: Any) -> DagTestResult:
    return run_dag_in_process(dag, DAY, None, env=env, no_retry_delay=True, echo=False)


def by_index(result: DagTestResult, task_id: str) -> dict[int, str | None]:
    return {t.map_index: t.state for t in result.tasks if t.task_id == task_id}


def xcom(env: Any, result: DagTestResult, task_id: str, map_index: int = -1) -> Any:
    from tradewind.services.xcom import get_xcom

    with env.db.session(readonly=True) as s:
        found, value = get_xcom(
            s,
            dag_id=result.dag_id,
            run_id=result.run_id,
            task_id=task_id,
            key="return_value",
            map_index=map_index,
        )
    assert found, f"no XCom for {task_id}[{map_index}]"
    return value


def test_simple_mapping_then_reduce_in_map_index_order(env: Any) -> None:
    with DAG(dag_id="simple_mapping", start_date=DAY, schedule=None) as dag:

        @task
        def make() -> list[int]:
            return [3, 1, 2]

        @task
        def add_one(x: int) -> int:
            return x + 1

        @task
        def collect(values: Any, ti: Any = None) -> dict[str, Any]:
            some = ti.xcom_pull(task_ids="add_one", map_indexes=[2, 0])
            one = ti.xcom_pull(task_ids="add_one", map_indexes=1)
            return {"kind": type(values).__name__, "values": list(values), "picked": [some, one]}

        collect(add_one.expand(x=make()))
    result = run(dag, env)
    assert result.state == "success"
    assert by_index(result, "add_one") == {0: "success", 1: "success", 2: "success"}
    assert [xcom(env, result, "add_one", i) for i in range(3)] == [4, 2, 3]
    assert xcom(env, result, "collect") == {
        "kind": "LazyXComSequence",
        "values": [4, 2, 3],
        "picked": [[3, 4], 2],
    }


def test_classic_operator_cross_product_and_named_instances(env: Any) -> None:
    with DAG(dag_id="classic_cross", start_date=DAY, schedule=None) as dag:
        BashOperator.partial(
            task_id="greet", map_index_template="{{ task.bash_command }}"
        ).expand_kwargs([{"bash_command": "echo hello"}, {"bash_command": "echo bye"}])

        @task
        def add(x: int, y: int) -> int:
            return x * y

        add.expand(x=[1, 2], y=[10, 100])
    result = run(dag, env)
    assert result.state == "success"
    assert [xcom(env, result, "add", i) for i in range(4)] == [10, 100, 20, 200]
    assert [xcom(env, result, "greet", i) for i in range(2)] == ["hello", "bye"]
    from sqlalchemy import select

    from tradewind.metastore.tables import TaskInstance

    with env.db.session(readonly=True) as s:
        fields = s.execute(
            select(TaskInstance.map_index, TaskInstance.rendered_map_index)
            .where(TaskInstance.task_id == "greet")
            .order_by(TaskInstance.map_index)
        ).all()
    assert [name for _, name in fields] == ["echo hello", "echo bye"]


def test_zero_length_skips_the_mapped_task_and_what_needs_it(env: Any) -> None:
    with DAG(dag_id="zero", start_date=DAY, schedule=None) as dag:

        @task
        def nothing() -> list[int]:
            return []

        @task
        def each(x: int) -> int:
            return x

        @task
        def after(values: Any) -> int:
            return len(list(values))

        after(each.expand(x=nothing()))
    result = run(dag, env)
    assert by_index(result, "each") == {-1: "skipped"}
    assert by_index(result, "after") == {-1: "skipped"}
    assert result.state == "success"


def test_a_failing_instance_retries_alone_and_fails_its_downstream(env: Any) -> None:
    with DAG(dag_id="one_fails", start_date=DAY, schedule=None) as dag:

        @task(retries=1, retry_delay=timedelta(seconds=0))
        def check(x: int) -> int:
            if x == 2:
                raise ValueError("two is bad")
            return x

        @task
        def total(values: Any) -> int:
            return sum(values)

        @task(trigger_rule="all_done")
        def report(values: Any) -> list[int]:
            return list(values)

        checked = check.expand(x=[1, 2, 3])
        total(checked)
        report(checked)
    result = run(dag, env)
    states = by_index(result, "check")
    assert states == {0: "success", 1: "failed", 2: "success"}
    tries = {t.map_index: t.try_number for t in result.tasks if t.task_id == "check"}
    assert tries == {0: 1, 1: 2, 2: 1}
    assert by_index(result, "total") == {-1: "upstream_failed"}
    assert xcom(env, result, "report") == [1, 3]  # the reduce of what succeeded
    assert result.state == "failed"


def test_map_over_mapped_output_and_expand_kwargs_from_map(env: Any) -> None:
    with DAG(dag_id="chained", start_date=DAY, schedule=None) as dag:

        @task
        def files() -> list[str]:
            return ["a.csv", "b.csv"]

        @task
        def size(name: str) -> int:
            return len(name)

        @task
        def double(n: int) -> int:
            return n * 2

        copy = BashOperator.partial(task_id="copy").expand_kwargs(
            files().map(lambda f: {"bash_command": f"echo copy {f}"})
        )
        double.expand(n=size.expand(name=files()))
        assert copy.is_mapped
    result = run(dag, env)
    assert result.state == "success"
    assert [xcom(env, result, "double", i) for i in range(2)] == [10, 10]
    assert [xcom(env, result, "copy", i) for i in range(2)] == ["copy a.csv", "copy b.csv"]


def test_unmappable_upstream_output_fails_the_upstream_with_a_clear_error(env: Any) -> None:
    with DAG(dag_id="unmappable", start_date=DAY, schedule=None) as dag:

        @task
        def make() -> str:
            return "not a list"

        @task
        def each(x: str) -> str:
            return x

        each.expand(x=make())
    result = run(dag, env)
    assert by_index(result, "make") == {-1: "failed"}
    assert by_index(result, "each") == {-1: "upstream_failed"}
    from pathlib import Path

    log = (
        Path(env.settings.log_folder)
        / "dag_id=unmappable"
        / f"run_id={result.run_id}"
        / "task_id=make"
        / "attempt=1.log"
    ).read_text()
    assert "UnmappableXComTypePushed" in log and "returned str" in log


def test_max_map_length_is_enforced_on_the_upstream(env: Any) -> None:
    from tradewind.sdk import defaults

    env.settings.set("core", "max_map_length", 3)
    defaults.configure(env.settings)
    try:
        with DAG(dag_id="too_long", start_date=DAY, schedule=None) as dag:

            @task
            def make() -> list[int]:
                return [1, 2, 3, 4]

            @task
            def each(x: int) -> int:
                return x

            each.expand(x=make())
        result = run(dag, env)
    finally:
        env.settings.set("core", "max_map_length", 1024)
        defaults.configure(env.settings)
    assert by_index(result, "make") == {-1: "failed"}
    assert by_index(result, "each") == {-1: "upstream_failed"}


def test_a_mapped_task_group_runs_each_index_on_its_own(env: Any) -> None:
    from tradewind.decorators import task_group

    with DAG(dag_id="grouped", start_date=DAY, schedule=None) as dag:

        @task
        def files() -> list[str]:
            return ["a", "b", "c"]

        @task
        def convert(name: str, suffix: str) -> str:
            if name == "b":
                raise ValueError("b is broken")
            return name + suffix

        @task
        def upload(converted: str) -> str:
            return converted.upper()

        @task_group
        def per_file(name: str, suffix: str) -> Any:
            return upload(convert(name, suffix))

        @task(trigger_rule="all_done")
        def summary(values: Any) -> list[str]:
            return list(values)

        summary(per_file.partial(suffix=".yaml").expand(name=files()))
    result = run(dag, env)
    assert by_index(result, "per_file.convert") == {0: "success", 1: "failed", 2: "success"}
    # instance 1 of upload waits for instance 1 of convert only
    assert by_index(result, "per_file.upload") == {0: "success", 1: "upstream_failed", 2: "success"}
    assert [xcom(env, result, "per_file.upload", i) for i in (0, 2)] == ["A.YAML", "C.YAML"]
    assert xcom(env, result, "summary") == ["A.YAML", "C.YAML"]


def test_a_mapped_task_group_over_nothing_is_skipped(env: Any) -> None:
    from tradewind.decorators import task_group

    with DAG(dag_id="grouped_empty", start_date=DAY, schedule=None) as dag:

        @task
        def nothing() -> list[int]:
            return []

        @task
        def first(x: int) -> int:
            return x

        @task
        def second(x: int) -> int:
            return x

        @task_group
        def each(x: int) -> Any:
            return second(first(x))

        each.expand(x=nothing())
    result = run(dag, env)
    assert by_index(result, "each.first") == {-1: "skipped"}
    assert by_index(result, "each.second") == {-1: "skipped"}
    assert result.state == "success"
