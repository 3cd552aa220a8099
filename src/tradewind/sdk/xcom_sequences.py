"""What ``XComArg.map``, ``.zip`` and ``.concat`` return, and the lazy sequences they resolve to.

A mapped task's output, pulled by a downstream task (the "reduce"), is a
:class:`LazyXComSequence`: the values of all its instances in map-index order, fetched on first
use (``list()`` forces it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from tradewind.sdk.xcom_arg import NOTSET, XComArg

if TYPE_CHECKING:
    from tradewind.sdk.baseoperator import BaseOperator


class LazyXComSequence(Sequence[Any]):
    """The values of every instance of a mapped task, in map-index order, read on first use."""

    def __init__(self, fetch: Callable[[], list[Any]], label: str = ""):
        self._fetch = fetch
        self._values: list[Any] | None = None
        self._label = label

    def _all(self) -> list[Any]:
        if self._values is None:
            self._values = list(self._fetch())
        return self._values

    def __len__(self) -> int:
        return len(self._all())

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        state = f"{len(self._values)} values" if self._values is not None else "not read yet"
        return f"LazyXComSequence({self._label}, {state})"


class _MappedSequence(Sequence[Any]):
    """``fn`` applied to each item of ``source``, item by item, when read."""

    def __init__(self, source: Sequence[Any], fn: Callable[[Any], Any]):
        self._source = source
        self._fn = fn

    def __len__(self) -> int:
        return len(self._source)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._fn(v) for v in self._source[index]]
        return self._fn(self._source[index])


class _ZippedSequence(Sequence[Any]):
    def __init__(self, sources: list[Sequence[Any]], fillvalue: Any):
        self._sources = sources
        self._fill = fillvalue
        lengths = [len(s) for s in sources]
        self._len = min(lengths) if fillvalue is NOTSET else max(lengths)

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._len))]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        return tuple(s[index] if index < len(s) else self._fill for s in self._sources)


class _ConcatSequence(Sequence[Any]):
    def __init__(self, sources: list[Sequence[Any]]):
        self._sources = sources

    def __len__(self) -> int:
        return sum(len(s) for s in self._sources)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        for s in self._sources:
            if index < len(s):
                return s[index]
            index -= len(s)
        raise IndexError(index)


def as_sequence(value: Any, what: str) -> Sequence[Any]:
    """A resolved value to map over: a list stays, a dict gives its (key, value) pairs."""
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return value
    from tradewind.errors import UnmappableXComTypePushed

    raise UnmappableXComTypePushed(
        f"{what} is {type(value).__name__}, not a list or dict: only lists and dicts can be mapped"
    )


class _ComposedXComArg(XComArg):
    """An XComArg built from others; its upstream tasks are theirs."""

    def __init__(self, args: list[XComArg]):
        super().__init__(args[0].operator, args[0].key)
        self.args = args

    def references(self) -> list[XComArg]:
        return [ref for a in self.args for ref in a.references()]

    @property
    def roots(self) -> list[BaseOperator]:
        return [r.operator for r in self.references()]

    @property
    def leaves(self) -> list[BaseOperator]:
        return self.roots

    def set_upstream(self, other: Any) -> None:
        for op in self.roots:
            op.set_upstream(other)

    def set_downstream(self, other: Any) -> None:
        for op in self.roots:
            op.set_downstream(other)

    def __getitem__(self, key: str) -> XComArg:
        raise TypeError(f"{self!r} has no keys: index the task's output before .map/.zip/.concat")


class MapXComArg(_ComposedXComArg):
    """``arg.map(fn)``: each item of ``arg`` passed through ``fn`` in the consuming task."""

    def __init__(self, arg: XComArg, fn: Callable[[Any], Any]):
        if not callable(fn):
            raise TypeError(f"XComArg.map() needs a callable, got {type(fn).__name__}")
        super().__init__([arg])
        self.fn = fn

    def __repr__(self) -> str:
        return f"{self.args[0]!r}.map({getattr(self.fn, '__name__', 'fn')})"

    def resolve(self, context: dict[str, Any]) -> Any:
        return _MappedSequence(
            as_sequence(self.args[0].resolve(context), repr(self.args[0])), self.fn
        )


class ZipXComArg(_ComposedXComArg):
    """``a.zip(b, c, fillvalue=...)``: tuples of the i-th items, like Python's zip()."""

    def __init__(self, args: list[XComArg], fillvalue: Any = NOTSET):
        super().__init__(args)
        self.fillvalue = fillvalue

    def __repr__(self) -> str:
        return f"{self.args[0]!r}.zip({', '.join(repr(a) for a in self.args[1:])})"

    def resolve(self, context: dict[str, Any]) -> Any:
        seqs = [as_sequence(a.resolve(context), repr(a)) for a in self.args]
        return _ZippedSequence(seqs, self.fillvalue)


class ConcatXComArg(_ComposedXComArg):
    """``a.concat(b, c)``: the items of all, one after the other."""

    def __repr__(self) -> str:
        return f"{self.args[0]!r}.concat({', '.join(repr(a) for a in self.args[1:])})"

    def resolve(self, context: dict[str, Any]) -> Any:
        return _ConcatSequence([as_sequence(a.resolve(context), repr(a)) for a in self.args])


def _check_args(others: tuple[Any, ...], method: str) -> list[XComArg]:
    for o in others:
        if not isinstance(o, XComArg):
            raise TypeError(
                f"XComArg.{method}() takes task outputs (XComArg), not {type(o).__name__}"
            )
    return list(others)


def zip_args(first: XComArg, others: tuple[Any, ...], fillvalue: Any) -> ZipXComArg:
    return ZipXComArg([first, *_check_args(others, "zip")], fillvalue)


def concat_args(first: XComArg, others: tuple[Any, ...]) -> ConcatXComArg:
    return ConcatXComArg([first, *_check_args(others, "concat")])


def plain(value: Any) -> Any:
    """``value`` with lazy sequences turned into lists, so it can be stored as JSON."""
    if isinstance(value, LazyXComSequence | _MappedSequence | _ZippedSequence | _ConcatSequence):
        return [plain(v) for v in value]
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value
