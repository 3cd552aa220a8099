"""TaskFlow: @task calls become tasks, their outputs become edges and XCom references."""

from __future__ import annotations

from typing import Any

import pytest

from tradewind import DAG, TaskGroup, task
from tradewind.operators.bash import BashOperator
from tradewind.operators.empty import EmptyOperator
from tradewind.operators.python import PythonOperator
from tradewind.sdk.decorators import (
    DecoratedBashOperator,
    DecoratedBranchOperator,
    DecoratedPythonOperator,
    DecoratedShortCircuitOperator,
)
from tradewind.sdk.xcom_arg import XComArg


def upstream(d: DAG, task_id: str) -> set[str]:
    return set(d.get_task(task_id).upstream_task_ids)


@task
def extract() -> list[int]:
    """Extract rows."""
    return [1, 2]


@task(retries=3)
def transform(rows: list[int], factor: int = 1) -> int:
    return sum(rows) * factor


def test_call_returns_xcomarg_and_passing_it_creates_the_edge() -> None:
    with DAG("tf") as d:
        rows = extract()
        total = transform(rows, factor=2)
    assert isinstance(rows, XComArg) and isinstance(total, XComArg)
    assert isinstance(rows.operator, DecoratedPythonOperator)
    assert upstream(d, "transform") == {"extract"}
    assert d.get_task("transform").retries == 3
    assert d.get_task("extract").doc_md == "Extract rows."
    assert rows.key == "return_value"


def test_xcomarg_in_kwargs_nested_structures_and_shift() -> None:
    with DAG("nested") as d:
        a, b = extract(), extract()
        transform(rows={"x": [a, (b,)]})
        c = extract()
        c >> EmptyOperator(task_id="after")
        EmptyOperator(task_id="before") >> c
    assert upstream(d, "transform") == {"extract", "extract__1"}
    assert upstream(d, "after") == {"extract__2"}
    assert upstream(d, "extract__2") == {"before"}


def test_classic_output_passed_to_taskflow_and_classic_tasks() -> None:
    with DAG("outputs") as d:
        bash = BashOperator(task_id="bash", bash_command="echo 1")
        transform(bash.output)
        PythonOperator(task_id="py", python_callable=print, op_kwargs={"v": bash.output})
        BashOperator(task_id="bash2", bash_command="echo x", env={"V": bash.output["k"]})
    assert upstream(d, "transform") == {"bash"}
    assert upstream(d, "py") == {"bash"}
    assert upstream(d, "bash2") == {"bash"}


def test_repeated_calls_get_suffixes_and_override() -> None:
    with DAG("repeat") as d:
        for _ in range(3):
            extract()
        extract.override(task_id="custom", retries=5)()
        extract.override(task_id="custom")()
        with TaskGroup("g"):
            extract()
            extract()
    assert d.task_ids == [
        "extract",
        "extract__1",
        "extract__2",
        "custom",
        "custom__1",
        "g.extract",
        "g.extract__1",
    ]
    assert d.get_task("custom").retries == 5
    assert d.get_task("custom__1").retries == 0


def test_multiple_outputs_explicit_and_from_annotation() -> None:
    @task(multiple_outputs=True)
    def explicit():  # type: ignore[no-untyped-def]
        return {"a": 1}

    @task
    def annotated() -> dict[str, int]:  # a string annotation here (postponed evaluation)
        return {"a": 1}

    @task
    def plain() -> list[int]:
        return [1]

    @task(multiple_outputs=False)
    def opted_out() -> dict[str, int]:
        return {}

    with DAG("multi") as d:
        explicit(), annotated(), plain(), opted_out()
    flags = {t.task_id: t.multiple_outputs for t in d.tasks}
    assert flags == {"explicit": True, "annotated": True, "plain": False, "opted_out": False}


def test_multiple_outputs_execute_pushes_keys() -> None:
    pushed: dict[str, Any] = {}

    class Ti:
        def xcom_push(self, key: str, value: Any) -> None:
            pushed[key] = value

    @task
    def split() -> dict[str, int]:
        return {"a": 1, "b": 2}

    @task(multiple_outputs=True)
    def wrong() -> Any:
        return [1]

    with DAG("push"):
        s, w = split(), wrong()
    assert s.operator.execute({"ti": Ti()}) == {"a": 1, "b": 2}
    assert pushed == {"a": 1, "b": 2}
    with pytest.raises(TypeError, match="not a dict"):
        w.operator.execute({"ti": Ti()})


def test_context_injection_by_parameter_name() -> None:
    @task
    def uses_context(x: int, ds: str | None = None, params: Any = None, **kwargs: Any) -> Any:
        return (x, ds, params, kwargs["run_id"])

    @task
    def no_extras(x: int) -> int:
        return x

    with DAG("ctx"):
        a, b = uses_context(1), no_extras(2)
    context = {"ds": "2026-01-01", "params": {"p": 1}, "run_id": "r1"}
    assert a.operator.execute(context) == (1, "2026-01-01", {"p": 1}, "r1")
    assert b.operator.execute(context) == 2


def test_branch_short_circuit_and_bash_decorators() -> None:
    @task.branch
    def pick() -> str:
        return "a"

    @task.short_circuit
    def gate() -> bool:
        return True

    @task.bash(env={"X": "1"})
    def command(name: str) -> str:
        return f"echo {name}"

    @task.python
    def py() -> None:
        return None

    with DAG("kinds") as d:
        pick() >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b")]
        gate()
        command(extract())
        py()
    kinds = {t.task_id: type(t) for t in d.tasks}
    assert kinds["pick"] is DecoratedBranchOperator
    assert kinds["gate"] is DecoratedShortCircuitOperator
    assert kinds["command"] is DecoratedBashOperator
    assert kinds["py"] is DecoratedPythonOperator
    assert d.get_task("command").env == {"X": "1"}
    assert upstream(d, "command") == {"extract"}


def test_task_bash_runs_the_returned_command() -> None:
    @task.bash
    def command(word: str) -> str:
        return "echo {{ params.p }}-" + word

    @task.bash
    def empty() -> str:
        return ""

    with DAG("bash_run"):
        ok, bad = command("w"), empty()
    ctx = {"params": {"p": "v"}, "logical_date": None}
    assert ok.operator.execute(ctx) == "v-w"
    with pytest.raises(TypeError, match="non-empty command"):
        bad.operator.execute(ctx)


def test_unknown_decorator_kind() -> None:
    with pytest.raises(AttributeError, match="task.docker"):
        task.docker  # noqa: B018


def test_task_group_decorator_from_decorators_module() -> None:
    from tradewind.decorators import task_group

    @task_group
    def section(x: Any) -> Any:
        return transform(x)

    @task_group(group_id="named")
    def other() -> None:
        EmptyOperator(task_id="t")

    with DAG("tg") as d:
        rows = extract()
        out = section(rows)
        section(rows)
        group = other()
        out >> EmptyOperator(task_id="end")
    assert {"section.transform", "section__1.transform", "named.t", "end"} <= set(d.task_ids)
    assert upstream(d, "section.transform") == {"extract"}
    assert upstream(d, "end") == {"section.transform"}
    assert isinstance(group, TaskGroup) and group.group_id == "named"
