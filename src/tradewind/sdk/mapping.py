"""Dynamic task mapping: ``partial(...).expand(...)`` and ``expand_kwargs(...)``.

A mapped task is one task of the DAG (an instance of its operator's ``Mapped...`` subclass,
whose BaseOperator fields come from ``partial``); the scheduler creates one task instance per
element at run time (``map_index`` 0..n-1), and the worker builds the real operator for its
index with ``mapping_runtime.unmap``. The expand input is stored in the serialized task as plain JSON
(``expand_input``), which is all the scheduler needs to count the elements.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tradewind.errors import DagDefinitionError
from tradewind.sdk import _site
from tradewind.sdk.xcom_arg import XComArg, find_xcom_args, resolve_xcom_args
from tradewind.sdk.xcom_sequences import (
    ConcatXComArg,
    MapXComArg,
    ZipXComArg,
    as_sequence,
)

if TYPE_CHECKING:
    from tradewind.sdk.baseoperator import BaseOperator

# BaseOperator arguments the scheduler needs before the elements are known: never mappable.
_mapped_classes: dict[type, type] = {}


# -- the expand input ---------------------------------------------------------------------
class ExpandInput:
    """What a mapped task expands over: ``expand(**kwargs)`` or ``expand_kwargs(value)``."""

    kind = ""

    def references(self) -> list[XComArg]:
        raise NotImplementedError

    def serialize(self) -> dict[str, Any]:
        raise NotImplementedError

    def resolve(self, context: dict[str, Any], map_index: int, task_id: str) -> dict[str, Any]:
        """The keyword arguments of instance ``map_index``."""
        raise NotImplementedError

    def length(self, context: dict[str, Any], task_id: str) -> int:
        """How many instances this input gives at run time."""
        raise NotImplementedError


class DictOfListsExpandInput(ExpandInput):
    """``expand(x=[...], y=upstream_output)``: the cross product, the last argument fastest."""

    kind = "dict_of_lists"

    def __init__(self, value: dict[str, Any]):
        self.value = value

    def references(self) -> list[XComArg]:
        return find_xcom_args(list(self.value.values()))

    def serialize(self) -> dict[str, Any]:
        return {"type": self.kind, "value": {k: _ref(v) for k, v in self.value.items()}}

    def resolve(self, context: dict[str, Any], map_index: int, task_id: str) -> dict[str, Any]:
        seqs = {
            k: _resolve_seq(v, context, f"{task_id}: mapped argument {k!r}")
            for k, v in self.value.items()
        }
        total = math.prod(len(s) for s in seqs.values())
        if not 0 <= map_index < total:
            raise IndexError(
                f"task {task_id!r}: map index {map_index} is out of range: its input has "
                f"{total} elements now (cleared upstream? clear this task to re-expand it)"
            )
        out: dict[str, Any] = {}
        rest = map_index
        for key in reversed(list(seqs)):
            seq = seqs[key]
            out[key] = seq[rest % len(seq)]
            rest //= len(seq)
        return {k: out[k] for k in seqs}

    def length(self, context: dict[str, Any], task_id: str) -> int:
        return math.prod(
            len(_resolve_seq(v, context, f"{task_id}: mapped argument {k!r}"))
            for k, v in self.value.items()
        )


class ListOfDictsExpandInput(ExpandInput):
    """``expand_kwargs([{...}, {...}])`` or ``expand_kwargs(upstream_output)``."""

    kind = "list_of_dicts"

    def __init__(self, value: Any):
        self.value = value

    def references(self) -> list[XComArg]:
        return find_xcom_args(self.value)

    def serialize(self) -> dict[str, Any]:
        return {"type": self.kind, "value": _ref(self.value)}

    def resolve(self, context: dict[str, Any], map_index: int, task_id: str) -> dict[str, Any]:
        seq = _resolve_seq(self.value, context, f"{task_id}: expand_kwargs() input")
        if not 0 <= map_index < len(seq):
            raise IndexError(
                f"task {task_id!r}: map index {map_index} is out of range: its input has "
                f"{len(seq)} elements now (clear this task to re-expand it)"
            )
        item = seq[map_index]
        if not isinstance(item, dict):
            raise TypeError(
                f"task {task_id!r}: expand_kwargs() needs a list of dicts; element {map_index} "
                f"is {type(item).__name__}"
            )
        bad = [k for k in item if not isinstance(k, str)]
        if bad:
            raise TypeError(f"task {task_id!r}: expand_kwargs() keys must be strings, got {bad!r}")
        return resolve_xcom_args(dict(item), context)  # type: ignore[no-any-return]

    def length(self, context: dict[str, Any], task_id: str) -> int:
        return len(_resolve_seq(self.value, context, f"{task_id}: expand_kwargs() input"))


def _resolve_seq(value: Any, context: dict[str, Any], what: str) -> Sequence[Any]:
    if isinstance(value, XComArg):
        return as_sequence(value.resolve(context), f"{what} ({value!r})")
    return as_sequence(value, what)


def _ref(value: Any) -> dict[str, Any]:
    """The JSON form of one mapped value: enough for the scheduler to count its elements."""
    if isinstance(value, MapXComArg):
        return {"kind": "map", "source": _ref(value.args[0])}
    if isinstance(value, ZipXComArg):
        from tradewind.sdk.xcom_arg import NOTSET

        return {
            "kind": "zip",
            "args": [_ref(a) for a in value.args],
            "fill": value.fillvalue is not NOTSET,
        }
    if isinstance(value, ConcatXComArg):
        return {"kind": "concat", "args": [_ref(a) for a in value.args]}
    if isinstance(value, XComArg):
        return {"kind": "xcom", "task_id": value.operator.task_id, "key": value.key}
    from tradewind.sdk.serialization import _jsonable

    return {"kind": "literal", "length": len(value), "value": _jsonable(_literal_items(value))}


def _literal_items(value: Any) -> Any:
    if isinstance(value, dict):
        return [[k, repr(v) if isinstance(v, XComArg) else v] for k, v in value.items()]
    return [repr(v) if isinstance(v, XComArg) else v for v in value]


def literal_length(expand: dict[str, Any]) -> int | None:
    """The number of instances known from a serialized expand input alone, or None."""

    def length(ref: dict[str, Any]) -> int | None:
        kind = ref["kind"]
        if kind == "literal":
            return int(ref["length"])
        if kind == "map":
            return length(ref["source"])
        parts = [length(a) for a in ref.get("args", [])]
        if kind == "xcom" or None in parts:
            return None
        if kind == "zip":
            return max(parts) if ref.get("fill") else min(parts)  # type: ignore[type-var]
        return sum(parts)  # type: ignore[arg-type]

    if expand["type"] == "nested":
        parts = [literal_length(expand["group"]), literal_length(expand["inner"])]
        return None if None in parts else math.prod(parts)  # type: ignore[arg-type]
    if expand["type"] == "list_of_dicts":
        return length(expand["value"])
    lengths = [length(r) for r in expand["value"].values()]
    return None if None in lengths else math.prod(lengths)  # type: ignore[arg-type]


# -- authoring ------------------------------------------------------------------------------
def _where(task_id: str, site: tuple[str | None, int | None]) -> Any:
    def fail(message: str) -> DagDefinitionError:
        return DagDefinitionError(f"task {task_id!r}: {message}", *site)

    return fail


def check_mapped_value(key: str, value: Any, fail: Any) -> None:
    """A value given to ``expand()`` must be a list, a dict or a task's output."""
    from tradewind.sdk import defaults

    if isinstance(value, XComArg):
        return
    if _holds_group_argument(value):
        raise fail(
            f"expand() over the mapped task group's argument ({key!r}) is not supported (nor "
            "in Airflow): map over a list or a task's output, or pass the argument to partial()"
        )
    if isinstance(value, list | tuple | dict):
        if len(value) > defaults.current.max_map_length:
            raise fail(
                f"mapped argument {key!r} has {len(value)} elements, over [core] "
                f"max_map_length ({defaults.current.max_map_length})"
            )
        return
    raise fail(
        f"expand() got {type(value).__name__} for {key!r}: map over a list, a dict or a "
        "task's output (XComArg)"
    )


def _holds_group_argument(value: Any) -> bool:
    from tradewind.sdk.mapped_group import holds_argument

    return holds_argument(value)


def _check_expand_call(args: tuple[Any, ...], kwargs: dict[str, Any], fail: Any) -> None:
    if args:
        raise fail("only keyword arguments can be mapped: use expand(name=[...])")
    if not kwargs:
        raise fail("expand() needs at least one keyword argument to map over")


def _check_kwargs_input(value: Any, fail: Any) -> None:
    if isinstance(value, XComArg):
        return
    if not isinstance(value, list | tuple):
        raise fail(
            f"expand_kwargs() takes a list of dicts or a task's output, not {type(value).__name__}"
        )
    for i, item in enumerate(value):
        if not isinstance(item, dict | XComArg):
            raise fail(f"expand_kwargs() element {i} is {type(item).__name__}, not a dict")


class OperatorPartial:
    """``SomeOperator.partial(task_id=..., **static)``: call ``.expand(...)`` on it next."""

    def __init__(self, operator_class: type[Any], kwargs: dict[str, Any]):
        self.operator_class = operator_class
        self.kwargs = kwargs
        self.site = _site.definition_site()
        task_id = kwargs.get("task_id")
        if not isinstance(task_id, str) or not task_id:
            raise DagDefinitionError(
                f"{operator_class.__name__}.partial() needs a task_id", *self.site
            )
        self._expanded = False

    def __repr__(self) -> str:
        return (
            f"OperatorPartial({self.operator_class.__name__}, task_id={self.kwargs['task_id']!r})"
        )

    def expand(self, *args: Any, **mapped: Any) -> BaseOperator:
        """Create the mapped task: one instance per element (cross product of several)."""
        fail = _where(self.kwargs["task_id"], self.site)
        _check_expand_call(args, mapped, fail)
        self._check_keys(mapped, fail)
        for key, value in mapped.items():
            check_mapped_value(key, value, fail)
        return self._build(DictOfListsExpandInput(dict(mapped)))

    def expand_kwargs(self, kwargs: Any, *, strict: bool = True) -> BaseOperator:
        """Create the mapped task from a list of keyword-argument dicts (or an XComArg)."""
        fail = _where(self.kwargs["task_id"], self.site)
        _check_kwargs_input(kwargs, fail)
        if isinstance(kwargs, list | tuple):
            for item in kwargs:
                if isinstance(item, dict):
                    self._check_keys(item, fail)
        return self._build(
            ListOfDictsExpandInput(list(kwargs) if isinstance(kwargs, tuple) else kwargs)
        )

    def _check_keys(self, mapped: dict[str, Any], fail: Any) -> None:
        from tradewind.sdk.baseoperator import _BASE_ARGS, _init_params

        accepted = _init_params(self.operator_class)
        for key in mapped:
            if key in _BASE_ARGS:
                raise fail(
                    f"argument {key!r} cannot be mapped; pass it to partial() instead (only the "
                    f"operator's own arguments are mappable)"
                )
            if key not in accepted:
                raise fail(f"{self.operator_class.__name__} has no argument {key!r} to map over")
            if key in self.kwargs:
                raise fail(f"argument {key!r} is given to both partial() and expand()")

    def _build(self, expand_input: ExpandInput) -> BaseOperator:
        if self._expanded:
            raise _where(self.kwargs["task_id"], self.site)("this partial() was already expanded")
        self._expanded = True
        from tradewind.sdk.baseoperator import _BASE_ARGS, BaseOperator, _init_params

        merged = _merged_kwargs(self.operator_class, self.kwargs)
        accepted = _init_params(self.operator_class)
        merged = {k: v for k, v in merged.items() if k in accepted or k == "dag"}
        proto: Any = object.__new__(self.operator_class)
        proto._tw_site = self.site
        base = {k: v for k, v in merged.items() if k in _BASE_ARGS or k == "dag"}
        init = getattr(BaseOperator.__init__, "__wrapped__", BaseOperator.__init__)
        init(proto, **base)
        _make_mapped(proto, expand_input, partial_kwargs=merged)
        for arg in find_xcom_args([v for k, v in merged.items() if k != "dag"]):
            proto.set_upstream(arg.operator)
        return proto  # type: ignore[no-any-return]


def _merged_kwargs(cls: type, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` over the task group's and DAG's ``default_args`` (as a task's __init__ gets)."""
    from tradewind.sdk.baseoperator import _init_params
    from tradewind.sdk.dag import DagContext
    from tradewind.sdk.taskgroup import TaskGroupContext

    kwargs = dict(kwargs)
    group = kwargs.get("task_group") or TaskGroupContext.current()
    dag = kwargs.get("dag") or DagContext.current() or getattr(group, "dag", None)
    merged: dict[str, Any] = {}
    if dag is not None:
        merged.update(dag.default_args)
    if group is not None:
        merged.update(group.default_args)
    merged.update(kwargs.pop("default_args", None) or {})
    accepted = _init_params(cls)
    out = {k: v for k, v in merged.items() if k in accepted}
    out.update(kwargs)
    return out


def mapped_class(cls: type) -> type:
    """The ``Mapped<Operator>`` subclass of ``cls`` (made once per operator class)."""
    klass = _mapped_classes.get(cls)
    if klass is None:
        klass = type(
            f"Mapped{cls.__name__}",
            (MappedOperatorMixin, cls),
            {"__module__": cls.__module__, "__qualname__": f"Mapped{cls.__qualname__}"},
        )
        klass._tw_operator_class = cls  # type: ignore[attr-defined]
        _mapped_classes[cls] = klass
    return klass


class MappedOperatorMixin:
    """What a mapped task has over its operator: the expand input, and how to unmap it."""

    is_mapped = True
    _tw_operator_class: type
    expand_input: ExpandInput
    partial_kwargs: dict[str, Any] | None

    @property
    def operator_name(self) -> str:
        return self._tw_operator_class.__name__

    @property
    def operator_class(self) -> type:
        return self._tw_operator_class

    def __repr__(self) -> str:
        return f"<Mapped({self._tw_operator_class.__name__}): {self.task_id}>"  # type: ignore[attr-defined]

    def execute(self, context: dict[str, Any]) -> Any:
        raise RuntimeError(
            f"mapped task {self.task_id!r} cannot run itself: each map index runs an unmapped "  # type: ignore[attr-defined]
            "copy (tradewind.sdk.mapping_runtime.unmap)"
        )


def _make_mapped(
    op: Any, expand_input: ExpandInput, *, partial_kwargs: dict[str, Any] | None
) -> None:
    op.__class__ = mapped_class(type(op))
    op.expand_input = expand_input
    op.partial_kwargs = partial_kwargs
    for arg in expand_input.references():
        if arg.operator is not op:
            op.set_upstream(arg.operator)


def make_mapped_decorated(op: Any, expand_input: ExpandInput) -> None:
    """Turn a just-created TaskFlow task into a mapped one (its function gets the values)."""
    _make_mapped(op, expand_input, partial_kwargs=None)


def is_mapped(task: Any) -> bool:
    return bool(getattr(task, "is_mapped", False))
