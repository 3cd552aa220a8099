"""The state machine guards every write: no module but ``services/ti_state.py`` builds an UPDATE
of task_instance or dag_run, nothing assigns ``.state`` on a loaded row, and the helper refuses
every move the transition tables forbid."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import tradewind
from tradewind.core.states import (
    DAG_RUN_TRANSITIONS,
    TI_TRANSITIONS,
    DagRunState,
    TaskInstanceState,
)
from tradewind.errors import Conflict
from tradewind.metastore.tables import DagRun, TaskInstance
from tradewind.services import ti_state

SRC = Path(tradewind.__file__).parent
HELPER = SRC / "services" / "ti_state.py"
GUARDED = {TaskInstance, DagRun, TaskInstance.__table__, DagRun.__table__}
NAMES = ("TaskInstance", "DagRun", "TIT", "DRT", "task_instance", "dag_run")


def _modules() -> list[tuple[Path, str]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts or path == HELPER:
            continue
        rel = path.relative_to(SRC.parent).with_suffix("")
        out.append((path, ".".join(rel.parts).removesuffix(".__init__")))
    return out


def _is_guarded(node: ast.expr, namespace: dict[str, object]) -> bool:
    try:
        value = eval(ast.unparse(node), namespace)  # noqa: S307 - our own source, module names only
    except Exception:  # noqa: BLE001 - a local name: judge by its text
        return any(name in ast.unparse(node) for name in NAMES)
    return any(value is g for g in GUARDED)


def _table_names(tree: ast.AST) -> set[str]:
    """Names bound to a guarded table anywhere in the module (``t = TaskInstance.__table__``,
    ``t = cast(Table, DagRun.__table__)``): their ``t.update()`` is a write too."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and "__table__" in ast.unparse(node.value):
            text = ast.unparse(node.value)
            if any(f"{model}.__table__" in text for model in ("TaskInstance", "DagRun")):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _violations(path: Path, module: str) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    namespace: dict[str, object] | None = None
    tables = _table_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            is_update = (isinstance(func, ast.Name) and func.id == "update") or (
                isinstance(func, ast.Attribute)
                and func.attr == "update"
                and isinstance(func.value, ast.Name)
                and func.value.id in ("sa", "sqlalchemy")
            )
            if is_update:
                if namespace is None:
                    namespace = vars(importlib.import_module(module))
                if _is_guarded(node.args[0], namespace):
                    found.append(f"{path}:{node.lineno}: {ast.unparse(node)[:80]}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            # Table.update() written on the table object itself
            target = node.func.value
            on_table = ast.unparse(target).endswith("__table__") or (
                isinstance(target, ast.Name) and target.id in tables and not node.args
            )
            if node.func.attr == "update" and on_table:
                found.append(f"{path}:{node.lineno}: {ast.unparse(node)[:80]}")
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Attribute) and t.attr == "state":
                    found.append(f"{path}:{node.lineno}: {ast.unparse(node)[:80]}")
    return found


def test_no_module_but_the_helper_writes_task_instance_or_dag_run_state() -> None:
    problems = [v for path, module in _modules() for v in _violations(path, module)]
    assert problems == [], "\n".join(problems)


def test_the_scan_sees_the_forms_it_forbids(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from sqlalchemy import update\n"
        "from tradewind.metastore.tables import TaskInstance\n"
        "def f(s, run):\n"
        "    s.execute(update(TaskInstance).values(state='success'))\n"
        "    run.state = 'failed'\n"
        "    table = cast(Table, TaskInstance.__table__)\n"
        "    s.execute(table.update().values(state='scheduled'))\n"
        "    s.execute(TaskInstance.__table__.update().values(state='queued'))\n"
    )
    assert len(_violations(bad, "tradewind.metastore.tables")) == 4


@pytest.mark.parametrize("src", list(TI_TRANSITIONS), ids=str)
def test_the_helper_allows_exactly_the_table_for_task_instances(
    src: TaskInstanceState | None,
) -> None:
    for dst in [None, *TaskInstanceState]:
        if dst in TI_TRANSITIONS[src]:
            ti_state.ti_update(src, dst)
        else:
            with pytest.raises(Conflict, match="cannot move"):
                ti_state.ti_update(src, dst)


@pytest.mark.parametrize("src", list(DagRunState), ids=str)
def test_the_helper_allows_exactly_the_table_for_dag_runs(src: DagRunState) -> None:
    for dst in DagRunState:
        if dst in DAG_RUN_TRANSITIONS[src]:
            ti_state.run_update(src, dst)
        else:
            with pytest.raises(Conflict, match="cannot move"):
                ti_state.run_update(src, dst)


def test_only_an_audited_mark_writes_from_any_state_and_columns_never_write_state() -> None:
    with pytest.raises(Conflict, match="audited"):
        ti_state.ti_update(ti_state.ANY, TaskInstanceState.SUCCESS)
    ti_state.ti_update(ti_state.ANY, TaskInstanceState.SUCCESS, audited=True)
    with pytest.raises(Conflict):
        ti_state.ti_columns(state="success")
    with pytest.raises(Conflict):
        ti_state.run_columns(state="success")
