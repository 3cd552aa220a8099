"""The ``>>`` / ``<<`` operators shared by tasks, task groups and XComArgs."""

from __future__ import annotations

from typing import Any


class DependencyMixin:
    """Gives ``a >> b``, ``a << b``, ``[a, b] >> c`` and ``a >> [b, c]``."""

    @property
    def roots(self) -> list[Any]:
        raise NotImplementedError

    @property
    def leaves(self) -> list[Any]:
        raise NotImplementedError

    def set_upstream(self, other: Any) -> None:
        raise NotImplementedError

    def set_downstream(self, other: Any) -> None:
        raise NotImplementedError

    @staticmethod
    def _flatten(other: Any, leaves: bool) -> list[Any]:
        """Return the operators behind ``other``: its leaves (as upstream) or roots."""
        items = other if isinstance(other, list | tuple | set) else [other]
        out: list[Any] = []
        for item in items:
            if not isinstance(item, DependencyMixin):
                raise TypeError(
                    f"cannot set a dependency on {item!r}: not a task, group or XComArg"
                )
            out.extend(item.leaves if leaves else item.roots)
        return out

    def __rshift__(self, other: Any) -> Any:
        if _is_edge_modifier(other) and not _is_edge_modifier(self):
            other.set_upstream(self)  # a >> Label("x"): the label learns its upstream
        else:
            self.set_downstream(other)
        return other

    def __lshift__(self, other: Any) -> Any:
        if _is_edge_modifier(other) and not _is_edge_modifier(self):
            other.set_downstream(self)
        else:
            self.set_upstream(other)
        return other

    def __rrshift__(self, other: Any) -> Any:
        self.set_upstream(other)
        return self

    def __rlshift__(self, other: Any) -> Any:
        self.set_downstream(other)
        return self


def _is_edge_modifier(obj: Any) -> bool:
    from tradewind.sdk.edges import EdgeModifier

    return isinstance(obj, EdgeModifier)
