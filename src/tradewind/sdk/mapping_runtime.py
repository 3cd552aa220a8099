"""Run time of mapped tasks, in the worker: the operator of one map index, its name
(``map_index_template``), and the check that an upstream's output can be mapped over."""

from __future__ import annotations

import copy
from typing import Any

from tradewind.sdk.mapping import is_mapped


def unmap(task: Any, context: dict[str, Any], map_index: int) -> Any:
    """The real operator for one map index, with its mapped arguments' values."""
    outer: dict[str, Any] | None = None  # a mapped group's arguments, in one
    if getattr(task, "mapped_group_id", None):
        outer, values = task.expand_input.resolve_in_group(context, map_index, task.task_id)
    else:
        values = task.expand_input.resolve(context, map_index, task.task_id)
    cls = task._tw_operator_class
    if outer is not None and task.partial_kwargs is None:  # a task of a mapped group
        from tradewind.sdk.mapped_group import unmap_in_group

        op = unmap_in_group(task, outer)
        if values:  # mapped again inside the group (TaskFlow): its own values too
            op.op_kwargs = {**op.op_kwargs, **values}
    elif task.partial_kwargs is None:  # TaskFlow: the values are the function's arguments
        op = copy.copy(task)
        op.__class__ = cls
        op.op_kwargs = {**task.op_kwargs, **values}
    else:
        op = _classic(task, cls, values, outer)
    op._tw_mapped_fields = frozenset(values) | frozenset(outer or {})
    op._tw_mapped_from = task
    return op


def _classic(task: Any, cls: type, values: dict[str, Any], outer: dict[str, Any] | None) -> Any:
    """A classic operator built from ``partial()``'s arguments and one instance's values."""
    from tradewind.sdk.baseoperator import suspended_linking

    kwargs = {k: v for k, v in task.partial_kwargs.items() if k not in ("dag", "task_group")}
    if outer is not None:  # partial() inside a mapped group may hold the group's arguments
        from tradewind.sdk.mapped_group import replace_arguments

        kwargs = replace_arguments(kwargs, outer)
    kwargs.update(values)
    kwargs["task_id"] = task.task_id
    with suspended_linking():
        op = cls(**kwargs)
    op.dag = task.dag
    op.task_group = task.task_group
    op.upstream_task_ids = task.upstream_task_ids
    op.downstream_task_ids = task.downstream_task_ids
    op.filename, op.lineno = task.filename, task.lineno
    if outer is not None:
        op.mapped_group_id = task.mapped_group_id
    return op


RENDERED_MAP_INDEX = "_rendered_map_index"  # where the worker reports it, in rendered_fields


def render_map_index(task: Any, context: dict[str, Any]) -> str | None:
    """Render ``map_index_template`` (after the try, so values it set in context show)."""
    template = getattr(task, "map_index_template", None)
    if not template:
        return None
    from tradewind.sdk.templating import render_value

    try:
        return str(render_value(template, context, task.get_template_env()))
    except Exception as exc:  # noqa: BLE001 - a bad name must not change the try's outcome
        return f"<map_index_template failed: {exc}>"


def check_output_for_mapping(task: Any, result: Any, pushed: dict[str, Any]) -> None:
    """Fail the try of a task whose output a mapped task expands over, when that output
    cannot be mapped (not a list/dict, missing, or longer than ``[core] max_map_length``)."""
    if task.dag is None or is_mapped(task) or hasattr(task, "_tw_mapped_fields"):
        return  # one instance of a mapped task: its value is one element, anything goes
    from tradewind.errors import (
        UnmappableXComLengthPushed,
        UnmappableXComTypePushed,
        XComForMappingNotPushed,
    )
    from tradewind.sdk import defaults

    for key, consumer in _mapping_consumers(task):
        value = result if key == "return_value" else pushed.get(key)
        if value is None:
            raise XComForMappingNotPushed(
                f"task {task.task_id!r} returned nothing (key {key!r}), but the mapped task "
                f"{consumer!r} expands over it: return a list or a dict"
            )
        if not isinstance(value, list | tuple | dict):
            raise UnmappableXComTypePushed(
                f"task {task.task_id!r} returned {type(value).__name__} (key {key!r}), but the "
                f"mapped task {consumer!r} expands over it: only a list or a dict can be mapped"
            )
        if len(value) > defaults.current.max_map_length:
            raise UnmappableXComLengthPushed(
                f"task {task.task_id!r} returned {len(value)} items (key {key!r}) for the "
                f"mapped task {consumer!r}, over [core] max_map_length "
                f"({defaults.current.max_map_length})"
            )


def _mapping_consumers(task: Any) -> list[tuple[str, str]]:
    """(XCom key, mapped task id) for each mapped downstream expanding over ``task``'s output."""
    out: list[tuple[str, str]] = []
    for tid in sorted(task.downstream_task_ids):
        down = task.dag.task_dict.get(tid)
        if down is None or not is_mapped(down):
            continue
        for ref in down.expand_input.references():
            if ref.operator.task_id == task.task_id:
                out.append((ref.key, tid))
    return out
