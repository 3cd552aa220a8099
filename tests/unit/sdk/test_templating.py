"""Jinja rendering of template fields: files, search paths, native objects, strictness, macros."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2
import pytest

from tradewind import DAG
from tradewind.models.baseoperator import BaseOperator
from tradewind.operators.bash import BashOperator
from tradewind.sdk.context import Macros, VariableAccessor, ds_add, ds_format
from tradewind.sdk.templating import environment_for

CTX: dict[str, Any] = {
    "ds": "2026-03-01",
    "logical_date": datetime(2026, 3, 1, tzinfo=timezone.utc),
    "params": {"table": "events"},
    "macros": Macros(),
}


class Sql(BaseOperator):
    template_fields = ("sql", "extra")
    template_ext = (".sql",)

    def __init__(self, *, sql: Any, extra: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sql = sql
        self.extra = extra


def test_fields_render_recursively_and_report_values() -> None:
    with DAG("render"):
        op = Sql(
            task_id="q", sql="SELECT '{{ ds }}'", extra={"k": ["{{ params.table }}", 3], "n": None}
        )
    rendered = op.render_template_fields(CTX)
    assert op.sql == "SELECT '2026-03-01'"
    assert op.extra == {"k": ["events", 3], "n": None}
    assert rendered == {"sql": op.sql, "extra": op.extra}


def test_template_file_from_search_path_and_dag_folder(tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text("SELECT * FROM {{ params.table }} WHERE d = '{{ ds }}'")
    with DAG("files", template_searchpath=str(tmp_path)):
        op = Sql(task_id="q", sql="q.sql")
        literal = Sql(task_id="lit", sql="q.sql ")  # a trailing space: not a file name
        missing = Sql(task_id="missing", sql="nope.sql")
    op.render_template_fields(CTX)
    literal.render_template_fields(CTX)
    assert op.sql == "SELECT * FROM events WHERE d = '2026-03-01'"
    assert literal.sql == "q.sql "
    with pytest.raises(jinja2.TemplateNotFound, match="nope.sql"):
        missing.render_template_fields(CTX)


def test_absolute_path_to_a_template_file(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("echo {{ ds_nodash }}")
    with DAG("abs"):
        op = BashOperator(task_id="b", bash_command=str(script))
    op.render_template_fields({**CTX, "ds_nodash": "20260301"})
    assert op.bash_command == "echo 20260301"


def test_strict_undefined_raises() -> None:
    with DAG("strict"):
        op = Sql(task_id="q", sql="{{ params.missing_key }}")
    with pytest.raises(jinja2.UndefinedError, match="missing_key"):
        op.render_template_fields(CTX)


def test_native_objects() -> None:
    with DAG("native", render_template_as_native_obj=True):
        op = Sql(task_id="q", sql="{{ [1, 2] }}", extra="{{ params }}")
    op.render_template_fields(CTX)
    assert op.sql == [1, 2]
    assert op.extra == {"table": "events"}


def test_user_defined_macros_and_filters() -> None:
    with DAG(
        "user_macros",
        user_defined_macros={"project": "acme"},
        user_defined_filters={"shout": lambda s: s.upper()},
    ):
        op = Sql(task_id="q", sql="{{ project | shout }}-{{ logical_date | ds_nodash }}")
    op.render_template_fields(CTX)
    assert op.sql == "ACME-20260301"


def test_environment_is_cached_per_dag_and_not_shared() -> None:
    a, b = DAG("env_a"), DAG("env_b", render_template_as_native_obj=True)
    assert environment_for(a) is environment_for(a)
    assert environment_for(a) is not environment_for(b)
    assert environment_for(None) is environment_for(None)


def test_macros_and_variable_accessor() -> None:
    assert ds_add("2026-03-01", -1) == "2026-02-28"
    assert ds_format("2026-03-01", "%Y-%m-%d", "%d/%m/%Y") == "01/03/2026"
    store = {"plain": "v", "cfg": json.dumps({"a": {"b": 1}})}
    var = VariableAccessor(store.get)
    env = environment_for(None)
    out = env.from_string(
        "{{ var.value.plain }} {{ var.json.cfg.a.b }} {{ var.value.get('nope', 'dflt') }} "
        "{{ macros.ds_add(ds, 1) }} {{ macros.datetime(2026, 1, 2).year }}"
    ).render(var=var, ds="2026-03-01", macros=Macros())
    assert out == "v 1 dflt 2026-03-02 2026"
    with pytest.raises(KeyError, match="nope"):
        env.from_string("{{ var.value.nope }}").render(var=var)
