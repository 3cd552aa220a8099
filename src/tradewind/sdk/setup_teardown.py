"""Setup and teardown tasks: resources made before some work and released after it.

A teardown's trigger rule is ``all_done_setup_success``: it runs once its upstreams are done,
whatever they ended in, provided one of its setups succeeded; and a teardown's failure does
not fail the DAG run unless it says ``on_failure_fail_dagrun=True`` (Airflow's rules).

``with teardown_task:`` (or ``with teardown(setup())``) wires every task created in the
block between the teardown's setups and the teardown itself.
"""

from __future__ import annotations

from typing import Any

from tradewind.core.trigger_rules import TriggerRule
from tradewind.errors import DagDefinitionError

_scopes: list[tuple[Any, set[str]]] = []


def mark_setup(op: Any) -> Any:
    """Make ``op`` a setup task."""
    if op.is_teardown:
        raise DagDefinitionError(f"task {op.task_id!r} cannot be both setup and teardown")
    op.is_setup = True
    return op


def mark_teardown(op: Any, setups: Any = None, on_failure_fail_dagrun: bool | None = None) -> Any:
    """Make ``op`` a teardown task of ``setups`` (tasks, XComArgs or a list of them)."""
    if op.is_setup:
        raise DagDefinitionError(f"task {op.task_id!r} cannot be both setup and teardown")
    op.is_teardown = True
    op.trigger_rule = TriggerRule.ALL_DONE_SETUP_SUCCESS
    if on_failure_fail_dagrun is not None:
        op.on_failure_fail_dagrun = on_failure_fail_dagrun
    for setup in setups if isinstance(setups, list | tuple | set) else [setups]:
        if setup is not None:
            setup_op = getattr(setup, "operator", setup)
            mark_setup(setup_op)
            setup_op >> op
    return op


def enter_scope(op: Any) -> None:
    """Start a ``with setup_or_teardown:`` block."""
    if not (op.is_setup or op.is_teardown):
        raise DagDefinitionError(
            f"task {op.task_id!r} is used as a context manager, but only setup and teardown "
            "tasks can be (call .as_setup() or .as_teardown() first)"
        )
    dag = op.dag
    _scopes.append((op, set(dag.task_dict) if dag is not None else set()))


def exit_scope(op: Any) -> None:
    """End the block: its roots run after the setups, its leaves before the teardown."""
    scoped, before = _scopes.pop()
    dag = scoped.dag
    if dag is None:
        return
    new = [t for tid, t in dag.task_dict.items() if tid not in before and t is not scoped]
    ids = {t.task_id for t in new}
    setups = [scoped] if scoped.is_setup else _setups_of(scoped)
    teardowns = [scoped] if scoped.is_teardown else _teardowns_of(scoped)
    for t in new:
        if t in setups or t in teardowns:
            continue
        if not (t.upstream_task_ids & ids):
            for s in setups:
                s >> t
        if not (t.downstream_task_ids & ids):
            for td in teardowns:
                t >> td


def _setups_of(teardown: Any) -> list[Any]:
    dag = teardown.dag
    return [
        dag.task_dict[u] for u in sorted(teardown.upstream_task_ids) if dag.task_dict[u].is_setup
    ]


def _teardowns_of(setup: Any) -> list[Any]:
    dag = setup.dag
    return [
        dag.task_dict[d] for d in sorted(setup.downstream_task_ids) if dag.task_dict[d].is_teardown
    ]
