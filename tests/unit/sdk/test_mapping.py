"""Dynamic task mapping in DAG files: the forms Airflow's docs show, their errors, and their
JSON form (what the scheduler counts elements from)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from tradewind import DAG, task
from tradewind.errors import DagDefinitionError
from tradewind.operators.bash import BashOperator
from tradewind.operators.python import PythonOperator
from tradewind.sdk.mapping import literal_length
from tradewind.sdk.mapping_runtime import unmap
from tradewind.sdk.serialization import SerializedDag, serialize_dag

START = datetime(2022, 3, 4, tzinfo=timezone.utc)


def _serialized(dag: DAG) -> SerializedDag:
    return SerializedDag(json.loads(json.dumps(serialize_dag(dag))))


class _Ti:
    """Just enough of a running task instance for XComArg.resolve: pulls from a dict."""

    def __init__(self, values: dict[str, object]):
        self.values = values

    def xcom_pull(self, task_ids: str, key: str = "return_value", **_: object) -> object:
        return self.values[task_ids]


def test_simple_mapping_and_reduce_as_in_airflows_docs() -> None:
    with DAG(dag_id="simple_mapping", start_date=START) as dag:

        @task
        def add_one(x: int) -> int:
            return x + 1

        @task
        def sum_it(values: list[int]) -> None:
            print(sum(values))

        added_values = add_one.expand(x=[1, 2, 3])
        sum_it(added_values)

    sdag = _serialized(dag)
    add = sdag.tasks["add_one"]
    assert add.is_mapped and not sdag.tasks["sum_it"].is_mapped
    assert add.expand_input == {
        "type": "dict_of_lists",
        "value": {"x": {"kind": "literal", "length": 3, "value": [1, 2, 3]}},
    }
    assert sdag.tasks["sum_it"].upstream_task_ids == ["add_one"]
    assert literal_length(add.expand_input) == 3
    assert add.operator == "DecoratedPythonOperator"


def test_classic_operator_partial_expand_keeps_partial_arguments() -> None:
    with DAG(dag_id="classic", start_date=START, default_args={"retries": 3}) as dag:
        b = BashOperator.partial(task_id="echo", pool="small", do_xcom_push=False).expand(
            bash_command=["echo 1", "echo 2"]
        )
    assert b.is_mapped and b.task_id == "echo" and b.pool == "small" and b.retries == 3
    data = _serialized(dag).tasks["echo"]
    assert data.operator == "BashOperator" and data.retries == 3 and data.pool == "small"
    one = unmap(b, {}, 1)
    assert isinstance(one, BashOperator) and not one.is_mapped
    assert one.bash_command == "echo 2" and one.pool == "small" and one.retries == 3
    assert one.do_xcom_push is False and one.dag is dag


def test_cross_product_varies_the_last_argument_fastest() -> None:
    with DAG(dag_id="cross", start_date=START):

        @task
        def add(x: int, y: int) -> int:
            return x + y

        out = add.expand(x=[2, 4, 8], y=[5, 10])
    op = out.operator
    pairs = [unmap(op, {}, i).op_kwargs for i in range(6)]
    assert pairs == [
        {"x": 2, "y": 5},
        {"x": 2, "y": 10},
        {"x": 4, "y": 5},
        {"x": 4, "y": 10},
        {"x": 8, "y": 5},
        {"x": 8, "y": 10},
    ]
    assert literal_length(_serialized(op.dag).tasks["add"].expand_input) == 6


def test_partial_values_and_dict_mapping_give_key_value_pairs() -> None:
    with DAG(dag_id="dicts", start_date=START):

        @task
        def show(item: tuple[str, int], prefix: str) -> str:
            return f"{prefix}{item}"

        out = show.partial(prefix="> ").expand(item={"a": 1, "b": 2})
    assert [unmap(out.operator, {}, i).op_kwargs for i in range(2)] == [
        {"prefix": "> ", "item": ("a", 1)},
        {"prefix": "> ", "item": ("b", 2)},
    ]


def test_expand_kwargs_on_a_classic_operator_and_from_an_upstream() -> None:
    with DAG(dag_id="kwargs", start_date=START) as dag:
        literal = BashOperator.partial(task_id="literal").expand_kwargs(
            [{"bash_command": "echo a", "env": {"X": "1"}}, {"bash_command": "echo b"}]
        )

        @task
        def make() -> list[dict[str, str]]:
            return [{"bash_command": "echo c"}]

        from_xcom = BashOperator.partial(task_id="from_xcom").expand_kwargs(make())
    assert unmap(literal, {}, 0).env == {"X": "1"}
    assert unmap(literal, {}, 1).bash_command == "echo b"
    ctx = {"ti": _Ti({"make": [{"bash_command": "echo c"}]})}
    assert unmap(from_xcom, ctx, 0).bash_command == "echo c"
    sdag = _serialized(dag)
    assert sdag.tasks["from_xcom"].expand_input == {
        "type": "list_of_dicts",
        "value": {"kind": "xcom", "task_id": "make", "key": "return_value"},
    }
    assert sdag.tasks["from_xcom"].upstream_task_ids == ["make"]


def test_xcomarg_map_zip_and_concat() -> None:
    with DAG(dag_id="ops", start_date=START) as dag:

        @task
        def letters() -> list[str]:
            return ["a", "b", "c"]

        @task
        def numbers() -> list[int]:
            return [1, 2]

        @task
        def show(x: object) -> None:
            print(x)

        mapped = show.expand(x=letters().map(str.upper))
        zipped = show.expand(x=letters().zip(numbers()))
        padded = show.expand(x=letters().zip(numbers(), fillvalue=0))
        joined = show.expand(x=letters().concat(numbers()))
    ctx = {
        "ti": _Ti(
            {t: v for t in dag.task_ids for v in [["a", "b", "c"] if "letters" in t else [1, 2]]}
        )
    }
    assert [unmap(mapped.operator, ctx, i).op_kwargs["x"] for i in range(3)] == ["A", "B", "C"]
    assert [unmap(zipped.operator, ctx, i).op_kwargs["x"] for i in range(2)] == [
        ("a", 1),
        ("b", 2),
    ]
    assert unmap(padded.operator, ctx, 2).op_kwargs["x"] == ("c", 0)
    assert [unmap(joined.operator, ctx, i).op_kwargs["x"] for i in range(5)] == [
        "a",
        "b",
        "c",
        1,
        2,
    ]
    sdag = _serialized(dag)
    zip_ref = sdag.tasks[zipped.operator.task_id].expand_input["value"]["x"]
    assert zip_ref["kind"] == "zip" and zip_ref["fill"] is False
    assert len(zip_ref["args"]) == 2
    assert set(sdag.tasks[joined.operator.task_id].upstream_task_ids) == {
        joined.operator.upstream_list[0].task_id,
        joined.operator.upstream_list[1].task_id,
    }
    assert len(sdag.tasks[joined.operator.task_id].upstream_task_ids) == 2


def test_mapping_over_a_classic_operators_output() -> None:
    with DAG(dag_id="classic_output", start_date=START) as dag:
        make = PythonOperator(task_id="make", python_callable=lambda: [1, 2])

        @task
        def show(x: int) -> None:
            print(x)

        show.expand(x=make.output)
    assert _serialized(dag).tasks["show"].upstream_task_ids == ["make"]


def test_the_mapped_task_json_round_trip_is_stable() -> None:
    def build() -> DAG:
        with DAG(dag_id="stable", start_date=START) as dag:

            @task
            def add(x: int, y: int) -> int:
                return x + y

            add.partial(y=1).expand(x=[1, 2])
        return dag

    first = serialize_dag(build())
    again = json.loads(json.dumps(first))
    assert again == serialize_dag(build())
    assert SerializedDag(again).tasks["add"].is_mapped


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda add: add.expand(1), "only keyword arguments can be mapped"),
        (lambda add: add.expand(), "at least one keyword argument"),
        (lambda add: add.expand(x="abc"), "expand() got str for 'x'"),
        (lambda add: add.expand(z=[1]), "has no argument 'z'"),
        (lambda add: add.partial(x=1).expand(x=[1]), "both partial() and expand()"),
        (lambda add: add.expand(x=list(range(2000))), "max_map_length (1024)"),
        (lambda add: add.expand_kwargs("x"), "expand_kwargs() takes a list of dicts"),
        (lambda add: add.expand_kwargs([1]), "element 0 is int"),
    ],
)
def test_bad_taskflow_mapping_names_the_task_file_and_line(make: object, message: str) -> None:
    with DAG(dag_id="bad", start_date=START):

        @task
        def add(x: int, y: int = 0) -> int:
            return x + y

        with pytest.raises(DagDefinitionError) as info:
            make(add)  # type: ignore[operator]
    text = str(info.value)
    assert message in text
    assert "task 'add'" in text and "test_mapping.py:" in text


@pytest.mark.parametrize(
    ("mapped", "message"),
    [
        ({"task_id": ["a"]}, "'task_id' cannot be mapped"),
        ({"pool": ["a"]}, "'pool' cannot be mapped; pass it to partial()"),
        ({"retries": [1]}, "'retries' cannot be mapped"),
        ({"nope": [1]}, "BashOperator has no argument 'nope'"),
        ({"bash_command": 3}, "expand() got int"),
    ],
)
def test_non_mappable_classic_arguments_fail_at_parse_time(
    mapped: dict[str, object], message: str
) -> None:
    with DAG(dag_id="bad_classic", start_date=START), pytest.raises(DagDefinitionError) as info:
        BashOperator.partial(task_id="b").expand(**mapped)
    assert message in str(info.value) and "task 'b'" in str(info.value)


def test_partial_needs_a_task_id() -> None:
    with pytest.raises(DagDefinitionError, match="partial\\(\\) needs a task_id"):
        BashOperator.partial(bash_command="echo")


def test_a_mapped_value_that_is_not_a_list_fails_on_the_instance_at_run_time() -> None:
    from tradewind.errors import UnmappableXComTypePushed

    with DAG(dag_id="runtime", start_date=START):

        @task
        def make() -> str:
            return "abc"

        @task
        def show(x: str) -> None:
            print(x)

        out = show.expand(x=make())
    with pytest.raises(UnmappableXComTypePushed, match="show: mapped argument 'x'.*str, not a"):
        unmap(out.operator, {"ti": _Ti({"make": "abc"})}, 0)


def test_an_upstream_returning_an_unmappable_value_fails_with_a_clear_error() -> None:
    from tradewind.errors import UnmappableXComLengthPushed, UnmappableXComTypePushed
    from tradewind.sdk import defaults
    from tradewind.sdk.mapping_runtime import check_output_for_mapping

    with DAG(dag_id="push", start_date=START):

        @task
        def make() -> object:
            return 1

        @task
        def show(x: object) -> None:
            print(x)

        src = make()
        show.expand(x=src)
    with pytest.raises(UnmappableXComTypePushed, match="'make' returned int.*'show'"):
        check_output_for_mapping(src.operator, 1, {})
    old = defaults.current.max_map_length
    defaults.current.max_map_length = 2
    try:
        with pytest.raises(UnmappableXComLengthPushed, match="3 items.*max_map_length \\(2\\)"):
            check_output_for_mapping(src.operator, [1, 2, 3], {})
    finally:
        defaults.current.max_map_length = old
    check_output_for_mapping(src.operator, [1, 2], {})  # a list is fine


def test_mapped_task_group_maps_every_task_with_its_arguments() -> None:
    from tradewind.decorators import task_group

    with DAG(dag_id="groups", start_date=START) as dag:

        @task
        def make() -> list[str]:
            return ["a.json", "b.json"]

        @task
        def convert(name: str, fmt: str) -> str:
            return name.replace(".json", fmt)

        @task
        def upload(path: str) -> None:
            print(path)

        @task_group
        def transform(name: str, fmt: str) -> None:
            upload(convert(name, fmt))

        transform.partial(fmt=".yaml").expand(name=make())
    sdag = _serialized(dag)
    convert_t, upload_t = sdag.tasks["transform.convert"], sdag.tasks["transform.upload"]
    assert convert_t.is_mapped and upload_t.is_mapped
    assert convert_t.mapped_group == upload_t.mapped_group == "transform"
    assert convert_t.expand_input["value"]["name"] == {
        "kind": "xcom",
        "task_id": "make",
        "key": "return_value",
    }
    assert sdag.data["task_group"]["children"][1]["is_mapped"] is True
    op = unmap(dag.task_dict["transform.convert"], {"ti": _Ti({"make": ["a.json", "b.json"]})}, 1)
    assert op.op_args == ["b.json", ".yaml"] and not op.is_mapped


def test_mapped_task_group_errors() -> None:
    from tradewind.decorators import task_group

    with DAG(dag_id="bad_groups", start_date=START):

        @task
        def one(x: int) -> int:
            return x

        @task_group
        def grp(x: int) -> None:
            one(x)

        with pytest.raises(DagDefinitionError, match="task group 'grp': .*no argument 'y'"):
            grp.expand(y=[1])
        with pytest.raises(DagDefinitionError, match="only keyword arguments"):
            grp.expand([1])

        @task_group
        def nested(x: int) -> None:
            one.expand(x=[x])

        with pytest.raises(DagDefinitionError, match="over the mapped task group's argument"):
            nested.expand(x=[1, 2])

        @task_group
        def over_sibling(x: int) -> None:
            one.expand(x=one(x))

        with pytest.raises(DagDefinitionError, match="a task of the same mapped task group"):
            over_sibling.expand(x=[1, 2])

        @task_group
        def inner(y: int) -> None:
            one(y)

        @task_group
        def outer(x: int) -> None:
            inner.expand(y=[1, 2])

        with pytest.raises(DagDefinitionError, match="Nested Mapped TaskGroups are not yet"):
            outer.expand(x=[1, 2])


def test_a_task_mapped_inside_a_mapped_group_multiplies_and_unmaps_group_major() -> None:
    from tradewind.decorators import task_group

    with DAG(dag_id="nested_units", start_date=START) as dag:

        @task
        def pair(name: str, part: int) -> str:
            return f"{name}{part}"

        @task_group
        def grp(name: str) -> None:
            pair.partial(name=name).expand(part=[1, 2, 3])
            BashOperator.partial(task_id="echo", env={"N": name}).expand(
                bash_command=["echo 1", "echo 2"]
            )

        grp.expand(name=["a", "b"])
    sdag = _serialized(dag)
    expand = sdag.tasks["grp.pair"].expand_input
    assert expand["type"] == "nested"
    assert expand["group"]["value"]["name"]["length"] == 2
    assert expand["inner"]["value"]["part"]["length"] == 3
    assert literal_length(expand) == 6
    assert literal_length(sdag.tasks["grp.echo"].expand_input) == 4
    ctx = {"ti": _Ti({})}
    ops = [unmap(dag.task_dict["grp.pair"], ctx, m) for m in range(6)]
    assert [(o.op_kwargs["name"], o.op_kwargs["part"]) for o in ops] == [
        ("a", 1), ("a", 2), ("a", 3), ("b", 1), ("b", 2), ("b", 3)
    ]  # fmt: skip
    echo = unmap(dag.task_dict["grp.echo"], ctx, 3)
    assert (echo.env, echo.bash_command, echo.is_mapped) == ({"N": "b"}, "echo 2", False)
    with pytest.raises(IndexError):
        unmap(dag.task_dict["grp.pair"], ctx, 6)
