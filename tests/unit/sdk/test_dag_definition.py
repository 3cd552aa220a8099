"""Defining DAGs: context manager, @dag, default_args, dependencies, task groups, errors."""

from __future__ import annotations

import inspect
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tradewind import DAG, Param, TaskGroup, chain, cross_downstream, dag
from tradewind.errors import DagCycleError, DagDefinitionError, DuplicateTaskIdError
from tradewind.models.baseoperator import BaseOperator
from tradewind.operators.bash import BashOperator
from tradewind.operators.empty import EmptyOperator
from tradewind.operators.python import PythonOperator
from tradewind.sdk.loader import load_file

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
HERE = __file__


def _line_of(marker: str) -> int:
    """Line number of the line of this file containing ``marker`` (after its definition)."""
    lines = Path(HERE).read_text().splitlines()
    hits = [i for i, ln in enumerate(lines, 1) if marker in ln and "_line_of" not in ln]
    return hits[0]


def edges(d: DAG) -> set[tuple[str, str]]:
    return {(t.task_id, down) for t in d.tasks for down in t.downstream_task_ids}


# -- DAG basics ------------------------------------------------------------------------------


def test_context_manager_collects_tasks_and_nests() -> None:
    with DAG("outer") as outer:
        a = EmptyOperator(task_id="a")
        with DAG("inner") as inner:
            b = EmptyOperator(task_id="b")
        c = EmptyOperator(task_id="c")
    assert outer.task_ids == ["a", "c"]
    assert inner.task_ids == ["b"]
    assert (a.dag, b.dag, c.dag) == (outer, inner, outer)
    d = DAG("explicit")
    e = EmptyOperator(task_id="e", dag=d)
    assert d.tasks == [e]


def test_naive_start_date_is_utc_and_default_args_start_date() -> None:
    d = DAG("naive", start_date=datetime(2026, 1, 1), schedule="@daily")
    assert d.start_date == START
    d2 = DAG("from_args", schedule="@daily", default_args={"start_date": START})
    assert d2.start_date == START


@pytest.mark.parametrize("bad_id", ["", "has space", "slash/no", 5])
def test_invalid_dag_id(bad_id: Any) -> None:
    with pytest.raises(DagDefinitionError, match="dag_id"):
        DAG(bad_id)


def test_dag_decorator_params_and_return_value() -> None:
    @dag(schedule=None, start_date=START, params={"n": Param(1, type="integer")}, tags=["t"])
    def pipeline(n: int = 3, label: str = "x") -> None:
        """Docs of the pipeline."""
        EmptyOperator(task_id="only")

    d = pipeline()
    assert isinstance(d, DAG)
    assert d.dag_id == "pipeline"
    assert d.task_ids == ["only"]
    assert d.doc_md == "Docs of the pipeline."
    assert d.params.resolve() == {"n": 3, "label": "x"}
    assert d.params["n"].schema == {"type": "integer"}  # the declared schema is kept
    assert d.filename == HERE and d.lineno == inspect.getsourcelines(pipeline)[1]
    again = pipeline(n=9)  # the factory can be called more than once
    assert again.params.resolve() == {"n": 9, "label": "x"}
    assert d.params.resolve() == {"n": 3, "label": "x"}


def test_dag_decorator_without_parentheses_and_with_id() -> None:
    @dag
    def bare() -> None:
        EmptyOperator(task_id="t")

    @dag("custom_id")
    def named() -> None:
        EmptyOperator(task_id="t")

    assert bare().dag_id == "bare"
    assert named().dag_id == "custom_id"


def test_unassigned_dags_are_found_by_the_loader(tmp_path: Path) -> None:
    f = tmp_path / "unassigned.py"
    f.write_text(
        textwrap.dedent(
            """
            from tradewind import DAG, dag
            from tradewind.operators.empty import EmptyOperator

            @dag(schedule=None)
            def made_by_decorator():
                EmptyOperator(task_id="t")

            made_by_decorator()          # never assigned

            def build():
                with DAG("made_in_function"):
                    EmptyOperator(task_id="t")
            build()
            """
        )
    )
    result = load_file(str(f))
    assert result.error is None
    assert sorted(d.dag_id for d in result.dags) == ["made_by_decorator", "made_in_function"]
    assert all(d.fileloc == str(f) for d in result.dags)


# -- default_args ------------------------------------------------------------------------------


def test_default_args_precedence_dag_operator_explicit() -> None:
    with DAG(
        "defaults",
        default_args={"retries": 1, "owner": "dag_owner", "pool": "dag_pool", "queue": "q1"},
    ):
        plain = EmptyOperator(task_id="plain")
        op_level = EmptyOperator(task_id="op_level", default_args={"retries": 2, "owner": "op"})
        explicit = EmptyOperator(task_id="explicit", default_args={"retries": 2}, retries=3)
    assert (plain.retries, plain.owner, plain.pool) == (1, "dag_owner", "dag_pool")
    assert (op_level.retries, op_level.owner, op_level.pool) == (2, "op", "dag_pool")
    assert explicit.retries == 3 and explicit.queue == "q1"


def test_default_args_fill_subclass_only_params_and_ignore_unknown() -> None:
    with DAG(
        "subclass_defaults",
        default_args={
            "bash_command": "echo default",
            "retry_delay": timedelta(seconds=7),
            "nope": 1,
        },
    ):
        bash = BashOperator(task_id="bash")
        own = BashOperator(task_id="own", bash_command="echo mine")
        py = PythonOperator(task_id="py", python_callable=print)  # bash_command is not its param
    assert bash.bash_command == "echo default" and own.bash_command == "echo mine"
    assert bash.retry_delay == timedelta(seconds=7) == py.retry_delay


def test_default_args_params_merge_and_group_default_args() -> None:
    with DAG("merge", default_args={"params": {"a": 1, "b": 1}, "retries": 1}):
        t = EmptyOperator(task_id="t", params={"b": 2})
        with TaskGroup("g", default_args={"retries": 4}):
            in_group = EmptyOperator(task_id="x")
    assert t.params == {"a": 1, "b": 2}
    assert in_group.retries == 4


def test_default_args_reach_user_subclasses_and_base_operator() -> None:
    class Custom(BaseOperator):
        def __init__(self, *, size: int = 1, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.size = size

    with DAG("custom", default_args={"size": 5, "retries": 2}):
        c = Custom(task_id="c")
        base = BaseOperator(task_id="base")
    assert (c.size, c.retries, base.retries) == (5, 2, 2)


# -- definition errors name the file and line ------------------------------------------------


def test_unknown_operator_kwarg_names_file_and_line() -> None:
    class Custom(BaseOperator):
        def __init__(self, *, size: int = 1, **kwargs: Any) -> None:
            super().__init__(**kwargs)

    with DAG("unknown_kwargs"), pytest.raises(DagDefinitionError) as err:
        Custom(task_id="c", sizee=2)  # LINE-UNKNOWN-KWARG
    assert "sizee" in str(err.value) and "Custom" in str(err.value)
    assert err.value.filename == HERE
    assert err.value.lineno == _line_of("# LINE-UNKNOWN-KWARG")
    assert f"{HERE}:{err.value.lineno}" in str(err.value)


def test_duplicate_task_id_names_the_second_task() -> None:
    with DAG("dupes"), pytest.raises(DuplicateTaskIdError) as err:
        EmptyOperator(task_id="same")
        EmptyOperator(task_id="same")  # LINE-DUPLICATE
    assert "'same'" in str(err.value)
    assert (err.value.filename, err.value.lineno) == (HERE, _line_of("# LINE-DUPLICATE"))


def test_cycle_names_the_line_of_the_edge_that_closes_it() -> None:
    with pytest.raises(DagCycleError) as err:  # noqa: SIM117 - the error is raised at the exit
        with DAG("cyclic"):
            a, b, c = (EmptyOperator(task_id=x) for x in "abc")
            z = EmptyOperator(task_id="z")  # only downstream of the cycle
            a >> b
            b >> c
            c >> a  # LINE-CYCLE-EDGE
            c >> z
    assert "a -> b -> c -> a" in str(err.value)
    assert "the edge c >> a closes it" in str(err.value)
    assert (err.value.filename, err.value.lineno) == (HERE, _line_of("# LINE-CYCLE-EDGE"))
    with DAG("self_loop") as d:
        z = EmptyOperator(task_id="z")
    z >> z
    with pytest.raises(DagCycleError, match="z -> z"):
        d.validate()


def test_cycle_error_from_the_loader_names_the_file(tmp_path: Path) -> None:
    f = tmp_path / "cycle.py"
    f.write_text(
        "from tradewind import DAG\n"
        "from tradewind.operators.empty import EmptyOperator\n"
        "d = DAG('c')\n"
        "a = EmptyOperator(task_id='a', dag=d)\n"
        "b = EmptyOperator(task_id='b', dag=d)\n"
        "a >> b\n"
        "b >> a\n"
    )
    result = load_file(str(f))
    assert result.dags == []
    assert f"{f}:7" in (result.error or "") and "a -> b -> a" in (result.error or "")
    assert result.error_line == 7


def test_unknown_trigger_rule() -> None:
    with DAG("rules"), pytest.raises(DagDefinitionError) as err:
        EmptyOperator(task_id="t", trigger_rule="all_sucess")  # LINE-RULE
    assert "all_sucess" in str(err.value) and "none_failed_min_one_success" in str(err.value)
    assert err.value.lineno == _line_of("# LINE-RULE")


def test_bad_cron_and_missing_start_date() -> None:
    with pytest.raises(DagDefinitionError) as err:
        DAG("bad_cron", schedule="61 * * * *", start_date=START)  # LINE-CRON
    assert "bad_cron" in str(err.value)
    assert (err.value.filename, err.value.lineno) == (HERE, _line_of("# LINE-CRON"))
    with pytest.raises(DagDefinitionError, match="start_date") as err2:
        DAG("no_start", schedule="@daily")  # LINE-NOSTART
    assert err2.value.lineno == _line_of("# LINE-NOSTART")
    DAG("manual_needs_no_start", schedule=None)
    DAG("once_needs_no_start", schedule="@once")


def test_task_ids_and_other_invalid_arguments() -> None:
    with DAG("ids"):
        with pytest.raises(DagDefinitionError, match="task_id"):
            EmptyOperator(task_id="bad id")
        with pytest.raises(DagDefinitionError, match="weight_rule"):
            EmptyOperator(task_id="w", weight_rule="sideways")
        with pytest.raises(DagDefinitionError, match="pool_slots"):
            EmptyOperator(task_id="p", pool_slots=0)


# -- dependencies ------------------------------------------------------------------------------


def test_shift_operators_and_lists() -> None:
    with DAG("shifts") as d:
        a, b, c, e, f = (EmptyOperator(task_id=x) for x in "abcef")
        assert (a >> b) is b
        c << b
        [a, b] >> e
        e >> [f, c]
        f << [a]
    assert edges(d) == {
        ("a", "b"),
        ("b", "c"),
        ("a", "e"),
        ("b", "e"),
        ("e", "f"),
        ("e", "c"),
        ("a", "f"),
    }
    assert [t.task_id for t in d.roots] == ["a"]
    assert sorted(t.task_id for t in d.leaves) == ["c", "f"]
    assert [t.task_id for t in d.topological_sort()][0] == "a"


def test_chain_and_cross_downstream() -> None:
    with DAG("chains") as d:
        a, b1, b2, c1, c2, e = (
            EmptyOperator(task_id=x) for x in ["a", "b1", "b2", "c1", "c2", "e"]
        )
        chain(a, [b1, b2], [c1, c2], e)
    assert edges(d) == {
        ("a", "b1"),
        ("a", "b2"),
        ("b1", "c1"),
        ("b2", "c2"),
        ("c1", "e"),
        ("c2", "e"),
    }
    with DAG("chain_bad"):
        x, y, z = (EmptyOperator(task_id=i) for i in "xyz")
        with pytest.raises(DagDefinitionError, match="different lengths"):
            chain([x, y], [z])
    with DAG("cross") as d2:
        ups = [EmptyOperator(task_id=f"u{i}") for i in range(2)]
        downs = [EmptyOperator(task_id=f"d{i}") for i in range(3)]
        cross_downstream(ups, downs)
    assert edges(d2) == {(f"u{i}", f"d{j}") for i in range(2) for j in range(3)}


def test_dependency_on_a_non_task_is_a_type_error() -> None:
    with DAG("types"):
        a = EmptyOperator(task_id="a")
        with pytest.raises(TypeError, match="not a task"):
            a >> "b"


def test_tasks_of_different_dags_cannot_be_linked() -> None:
    a = EmptyOperator(task_id="a", dag=DAG("one"))
    b = EmptyOperator(task_id="b", dag=DAG("two"))
    with pytest.raises(DagDefinitionError, match="different DAGs"):
        a >> b


# -- task groups -------------------------------------------------------------------------------


def test_task_group_prefixes_and_group_edges() -> None:
    with DAG("groups") as d:
        start = EmptyOperator(task_id="start")
        with TaskGroup("extract") as extract:
            e1 = EmptyOperator(task_id="one")
            e2 = EmptyOperator(task_id="two")
            e1 >> e2
            with TaskGroup("deep") as deep:
                EmptyOperator(task_id="x")
        with TaskGroup("load") as load:
            EmptyOperator(task_id="l1")
            EmptyOperator(task_id="l2")
        end = EmptyOperator(task_id="end")
        start >> extract >> load >> end
    assert extract.group_id == "extract" and deep.group_id == "extract.deep"
    assert set(d.task_ids) == {
        "start",
        "extract.one",
        "extract.two",
        "extract.deep.x",
        "load.l1",
        "load.l2",
        "end",
    }
    assert edges(d) == {
        ("start", "extract.one"),
        ("start", "extract.deep.x"),
        ("extract.one", "extract.two"),
        ("extract.two", "load.l1"),
        ("extract.two", "load.l2"),
        ("extract.deep.x", "load.l1"),
        ("extract.deep.x", "load.l2"),
        ("load.l1", "end"),
        ("load.l2", "end"),
    }
    tree = d.task_group.dump()
    assert tree["children"][0] == "start"
    assert tree["children"][1]["group_id"] == "extract"
    assert tree["children"][1]["children"][-1]["children"] == ["extract.deep.x"]


def test_prefix_group_id_false_keeps_task_ids_as_airflow() -> None:
    with DAG("no_prefix") as d, TaskGroup("outer"):
        with TaskGroup("flat", prefix_group_id=False) as flat:
            EmptyOperator(task_id="t")
        EmptyOperator(task_id="u")
    assert set(d.task_ids) == {"t", "outer.u"}
    assert flat.group_id == "outer.flat"


def test_task_group_errors() -> None:
    with pytest.raises(DagDefinitionError, match="inside a DAG"):
        TaskGroup("orphan")
    with DAG("twice"):
        TaskGroup("g")
        with pytest.raises(DagDefinitionError, match="used twice"):
            TaskGroup("g")


def test_tasks_joined_later_or_given_a_group_belong_to_the_dag() -> None:
    d = DAG("later")
    with d:
        g = TaskGroup("g")
    in_group = EmptyOperator(task_id="t", task_group=g)
    loose = EmptyOperator(task_id="loose")
    first = EmptyOperator(task_id="first", dag=d)
    loose >> first
    assert in_group.dag is d and in_group.task_id == "g.t"
    assert loose.dag is d and loose.task_group is d.task_group
    assert set(d.task_ids) == {"g.t", "loose", "first"}
