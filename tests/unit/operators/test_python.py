"""PythonOperator family: arguments, context injection, branching and short-circuit choices."""

from __future__ import annotations

from typing import Any

import pytest

from tradewind import DAG, TaskGroup
from tradewind.errors import TradewindError
from tradewind.operators.empty import EmptyOperator
from tradewind.operators.python import (
    BranchPythonOperator,
    PythonOperator,
    ShortCircuitOperator,
    determine_kwargs,
)


class RecordingTi:
    """The part of a running task instance that branching uses: ``skip_tasks``."""

    def __init__(self) -> None:
        self.skipped: list[str] = []

    def skip_tasks(self, task_ids: list[str]) -> None:
        self.skipped.extend(task_ids)


def test_op_args_op_kwargs_and_context_by_name() -> None:
    def fn(a: int, b: int, ds: str, *, c: int = 0, ti: Any = None) -> tuple[Any, ...]:
        return a, b, ds, c, ti

    with DAG("py_unit"):
        op = PythonOperator(task_id="p", python_callable=fn, op_args=[1, 2], op_kwargs={"c": 3})
    assert op.execute({"ds": "D", "ti": "TI", "run_id": "r"}) == (1, 2, "D", 3, "TI")


def test_positional_op_args_win_over_context_names() -> None:
    def fn(ds: str, **kwargs: Any) -> Any:
        return ds, sorted(kwargs)

    assert determine_kwargs(fn, ["given"], {"ds": "ctx", "ti": 1}) == {"ti": 1}
    with DAG("py_unit2"):
        op = PythonOperator(task_id="p", python_callable=lambda ds: ds, op_args=["given"])
        wild = PythonOperator(task_id="w", python_callable=fn, op_args=["given"])
    assert op.execute({"ds": "ctx"}) == "given"
    assert wild.execute({"ds": "ctx", "ti": 1}) == ("given", ["ti"])


def test_templates_dict_and_templated_args() -> None:
    with DAG("tmpl"):
        op = PythonOperator(
            task_id="p",
            python_callable=lambda x, templates_dict: (x, templates_dict),
            op_args=["{{ ds }}"],
            templates_dict={"q": "{{ params.t }}"},
        )
    ctx = {"ds": "2026-01-01", "params": {"t": "tbl"}}
    op.render_template_fields(ctx)
    assert op.execute(ctx) == ("2026-01-01", {"q": "tbl"})


def test_python_callable_must_be_callable() -> None:
    with DAG("bad"), pytest.raises(TradewindError, match="callable"):
        PythonOperator(task_id="p", python_callable="nope")  # type: ignore[arg-type]


def _branch_dag(choice: Any) -> tuple[BranchPythonOperator, RecordingTi]:
    with DAG("branch_unit"):
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: choice)
        with TaskGroup("grp") as grp:
            EmptyOperator(task_id="g1") >> EmptyOperator(task_id="g2")
        pick >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b"), grp]
    return pick, RecordingTi()


@pytest.mark.parametrize(
    "choice, skipped",
    [
        ("a", ["b", "grp.g1"]),
        (["a", "b"], ["grp.g1"]),
        ("grp", ["a", "b"]),  # a task group id follows the group's roots
        (None, ["a", "b", "grp.g1"]),
    ],
)
def test_branch_skips_the_other_direct_downstream_tasks(choice: Any, skipped: list[str]) -> None:
    pick, ti = _branch_dag(choice)
    assert pick.execute({"ti": ti}) == choice
    assert ti.skipped == skipped


def test_branch_to_unknown_or_not_downstream_task_fails() -> None:
    pick, ti = _branch_dag("nope")
    with pytest.raises(TradewindError, match="not a task or task group"):
        pick.execute({"ti": ti})
    pick, ti = _branch_dag("grp.g2")
    with pytest.raises(TradewindError, match="not directly downstream"):
        pick.execute({"ti": ti})


@pytest.mark.parametrize("ignore_rules, skipped", [(True, ["a", "b"]), (False, ["a"])])
def test_short_circuit(ignore_rules: bool, skipped: list[str]) -> None:
    with DAG("sc_unit"):
        gate = ShortCircuitOperator(
            task_id="gate", python_callable=lambda: [], ignore_downstream_trigger_rules=ignore_rules
        )
        gate >> EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
        open_gate = ShortCircuitOperator(task_id="open", python_callable=lambda: "yes")
        open_gate >> EmptyOperator(task_id="c")
    ti = RecordingTi()
    assert gate.execute({"ti": ti}) == []
    assert ti.skipped == skipped
    ti2 = RecordingTi()
    assert open_gate.execute({"ti": ti2}) == "yes"
    assert ti2.skipped == []
