"""Mapped task groups: ``@task_group`` functions called with ``.expand(...)``.

Every task the function creates is mapped over the group's input: instance ``i`` of each gets
element ``i`` wherever the function used its argument (a :class:`MappedArgument`), and inside
the group each instance depends only on the same map index of its upstream (Airflow's
semantics). Outside the group, a downstream task sees all instances, as for any mapped task.

A task mapped again inside the group (``t.expand(...)`` in the function) has ``G * n``
instances for a group of ``G`` and its own input of ``n``: instance ``m`` belongs to group
instance ``m // n`` and takes element ``m % n`` of its own input, the layout Airflow gives
(``_get_relevant_map_indexes``).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from typing import Any

from tradewind.errors import DagDefinitionError
from tradewind.sdk import _site
from tradewind.sdk.mapping import (
    DictOfListsExpandInput,
    ExpandInput,
    ListOfDictsExpandInput,
    _check_expand_call,
    _check_kwargs_input,
    _make_mapped,
    check_mapped_value,
)
from tradewind.sdk.xcom_arg import XComArg


class MappedArgument:
    """A ``@task_group`` function's argument in a mapped group: element ``i`` in instance ``i``."""

    def __init__(self, group_id: str, name: str):
        self.group_id = group_id
        self.name = name

    def __repr__(self) -> str:
        return f"MappedArgument({self.group_id!r}, {self.name!r})"


class GroupExpandInput(ExpandInput):
    """The expand input of a task inside a mapped group: the group's, seen as its arguments."""

    def __init__(self, group_input: ExpandInput, group_id: str):
        self.group_input = group_input
        self.group_id = group_id
        self.kind = group_input.kind

    def references(self) -> list[XComArg]:
        return self.group_input.references()

    def serialize(self) -> dict[str, Any]:
        return self.group_input.serialize()

    def resolve(self, context: dict[str, Any], map_index: int, task_id: str) -> dict[str, Any]:
        return self.group_input.resolve(context, map_index, task_id)

    def resolve_in_group(
        self, context: dict[str, Any], map_index: int, task_id: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(the group's arguments, the task's own mapped arguments) of one instance."""
        return self.resolve(context, map_index, task_id), {}


class NestedExpandInput(GroupExpandInput):
    """A task mapped again inside a mapped group: the group's input times its own."""

    def __init__(self, group_input: ExpandInput, group_id: str, inner: ExpandInput):
        super().__init__(group_input, group_id)
        self.inner = inner
        self.kind = "nested"

    def references(self) -> list[XComArg]:
        return [*self.group_input.references(), *self.inner.references()]

    def serialize(self) -> dict[str, Any]:
        return {
            "type": "nested",
            "group": self.group_input.serialize(),
            "inner": self.inner.serialize(),
        }

    def resolve(self, context: dict[str, Any], map_index: int, task_id: str) -> dict[str, Any]:
        outer, own = self.resolve_in_group(context, map_index, task_id)
        return {**outer, **own}

    def resolve_in_group(
        self, context: dict[str, Any], map_index: int, task_id: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        n = self.inner.length(context, task_id)
        if n < 1:
            raise IndexError(f"task {task_id!r}: its own mapped input is empty now")
        outer = self.group_input.resolve(context, map_index // n, task_id)
        return outer, self.inner.resolve(context, map_index % n, task_id)


def relevant_indexes(
    task: Any, other: Any, map_index: int, context: dict[str, Any]
) -> int | list[int]:
    """The map indexes of ``other`` (a task of the same mapped group) that instance
    ``map_index`` of ``task`` reads: the same group instance's, all of them when ``other`` is
    mapped again inside the group."""
    mine = task.expand_input
    group_index = (
        map_index // mine.inner.length(context, task.task_id)
        if isinstance(mine, NestedExpandInput)
        else map_index
    )
    theirs = other.expand_input
    if not isinstance(theirs, NestedExpandInput):
        return group_index
    n = theirs.inner.length(context, other.task_id)
    return list(range(group_index * n, (group_index + 1) * n))


def _replace(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, MappedArgument):
        return values[value.name]
    if isinstance(value, list):
        return [_replace(v, values) for v in value]
    if isinstance(value, tuple):
        return tuple(_replace(v, values) for v in value)
    if isinstance(value, dict):
        return {k: _replace(v, values) for k, v in value.items()}
    return value


def holds_argument(value: Any) -> bool:
    if isinstance(value, MappedArgument):
        return True
    if isinstance(value, list | tuple):
        return any(holds_argument(v) for v in value)
    if isinstance(value, dict):
        return any(holds_argument(v) for v in value.values())
    return False


def replace_arguments(value: Any, values: dict[str, Any]) -> Any:
    """``value`` with the group's arguments (:class:`MappedArgument`) replaced by ``values``."""
    return _replace(value, values)


def unmap_in_group(task: Any, values: dict[str, Any]) -> Any:
    """The task of one map index of its group: the group's arguments replaced by their values."""
    op = copy.copy(task)
    op.__class__ = task._tw_operator_class
    for name, value in list(vars(op).items()):
        if holds_argument(value):
            setattr(op, name, _replace(value, values))
    return op


class MappedTaskGroupFactory:
    """A ``@task_group`` function: call it for one group, ``.expand(...)`` for a mapped one."""

    def __init__(self, fn: Callable[..., Any], group_kwargs: dict[str, Any]):
        self.function = fn
        self.group_kwargs = group_kwargs
        self.__wrapped__ = fn
        self.__name__ = getattr(fn, "__name__", "task_group")
        self.__doc__ = fn.__doc__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from tradewind.sdk.taskgroup import TaskGroup, _unique_group_id

        kw = dict(self.group_kwargs)
        gid = _unique_group_id(kw.pop("group_id", None) or self.function.__name__)
        kw.setdefault("tooltip", (self.function.__doc__ or "").strip())
        with TaskGroup(gid, **kw) as group:
            result = self.function(*args, **kwargs)
        return group if result is None else result

    def partial(self, **kwargs: Any) -> _PartialGroup:
        """Fix some of the function's arguments for every map index; ``.expand`` next."""
        return _PartialGroup(self, kwargs)

    def expand(self, *args: Any, **mapped: Any) -> Any:
        """One instance of every task of the group per element (the cross product of several)."""
        return _PartialGroup(self, {}).expand(*args, **mapped)

    def expand_kwargs(self, kwargs: Any) -> Any:
        """One instance of every task of the group per dict of arguments."""
        return _PartialGroup(self, {}).expand_kwargs(kwargs)


class _PartialGroup:
    def __init__(self, factory: MappedTaskGroupFactory, kwargs: dict[str, Any]):
        self.factory = factory
        self.kwargs = kwargs
        self.site = _site.definition_site()
        self.name = factory.group_kwargs.get("group_id") or factory.function.__name__

    def _fail(self, message: str) -> DagDefinitionError:
        return DagDefinitionError(f"task group {self.name!r}: {message}", *self.site)

    def _names(self) -> list[str]:
        params = inspect.signature(self.factory.function).parameters.values()
        return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]

    def expand(self, *args: Any, **mapped: Any) -> Any:
        _check_expand_call(args, mapped, self._fail)
        names = self._names()
        for key, value in mapped.items():
            if key not in names:
                raise self._fail(f"function {self.factory.__name__}() has no argument {key!r}")
            if key in self.kwargs:
                raise self._fail(f"argument {key!r} is given to both partial() and expand()")
            check_mapped_value(key, value, self._fail)
        return self._build(DictOfListsExpandInput(dict(mapped)), list(mapped))

    def expand_kwargs(self, kwargs: Any) -> Any:
        _check_kwargs_input(kwargs, self._fail)
        value = list(kwargs) if isinstance(kwargs, tuple) else kwargs
        mapped = [n for n in self._names() if n not in self.kwargs]
        return self._build(ListOfDictsExpandInput(value), mapped)

    def _build(self, expand_input: ExpandInput, mapped: list[str]) -> Any:
        from tradewind.sdk.taskgroup import TaskGroup, _unique_group_id

        kw = dict(self.factory.group_kwargs)
        gid = _unique_group_id(kw.pop("group_id", None) or self.factory.function.__name__)
        kw.setdefault("tooltip", (self.factory.function.__doc__ or "").strip())
        with TaskGroup(gid, **kw) as group:
            full_id = str(group.group_id)
            arguments = {name: MappedArgument(full_id, name) for name in mapped}
            result = self.factory.function(**self.kwargs, **arguments)
        group.expand_input = expand_input  # type: ignore[attr-defined]
        group.is_mapped = True  # type: ignore[attr-defined]
        tasks: list[Any] = group.iter_tasks()
        if not tasks:
            raise self._fail("a mapped task group needs at least one task")
        for t in tasks:
            _check_nested(t, tasks)
        for t in tasks:
            if getattr(t, "is_mapped", False):  # mapped again inside the group
                t.expand_input = NestedExpandInput(expand_input, full_id, t.expand_input)
                for arg in expand_input.references():
                    t.set_upstream(arg.operator)
            else:
                _make_mapped(t, GroupExpandInput(expand_input, full_id), partial_kwargs=None)
            t.mapped_group_id = full_id
        return group if result is None else result


def _check_nested(task: Any, group_tasks: list[Any]) -> None:
    """A task mapped inside a mapped group may not map over what differs per group instance."""
    if not getattr(task, "is_mapped", False):
        return

    def fail(message: str) -> DagDefinitionError:
        return DagDefinitionError(f"task {task.task_id!r}: {message}", task.filename, task.lineno)

    if getattr(task, "mapped_group_id", None):
        raise fail("Nested Mapped TaskGroups are not yet supported (as in Airflow)")
    inside = {t.task_id for t in group_tasks}
    for ref in task.expand_input.references():
        if ref.operator.task_id in inside:
            raise fail(
                f"it is mapped over the output of {ref.operator.task_id!r}, a task of the same "
                "mapped task group, so its number of instances would differ from one group "
                "instance to the next: not supported; map over a task outside the group"
            )
