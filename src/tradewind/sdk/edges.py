"""Labels on the edges between tasks: ``branch >> Label("when empty") >> task``."""

from __future__ import annotations

from typing import Any

from tradewind.sdk.dependencies import DependencyMixin


class EdgeModifier(DependencyMixin):
    """Sits between tasks in ``>>`` chains and records information on the edges it makes.

    ``a >> EdgeModifier("x") >> b`` sets ``a >> b`` and stores ``{"label": "x"}`` for the edge
    (``dag.get_edge_info("a", "b")``); it also works with lists and task groups on either side.
    """

    def __init__(self, label: str | None = None) -> None:
        self.label = label
        self._upstream: list[Any] = []
        self._downstream: list[Any] = []

    @property
    def roots(self) -> list[Any]:
        return [r for d in self._downstream for r in self._flatten(d, leaves=False)]

    @property
    def leaves(self) -> list[Any]:
        return [leaf for u in self._upstream for leaf in self._flatten(u, leaves=True)]

    def set_upstream(self, other: Any) -> None:
        items = list(other) if isinstance(other, list | tuple | set) else [other]
        for item in items:
            self._upstream.append(item)
            for down in self._downstream:
                self._connect(item, down)

    def set_downstream(self, other: Any) -> None:
        items = list(other) if isinstance(other, list | tuple | set) else [other]
        for item in items:
            self._downstream.append(item)
            for up in self._upstream:
                self._connect(up, item)

    def _connect(self, up: Any, down: Any) -> None:
        up >> down
        for leaf in self._flatten(up, leaves=True):
            for root in self._flatten(down, leaves=False):
                dag = getattr(leaf, "dag", None) or getattr(root, "dag", None)
                if dag is not None and self.label is not None:
                    dag.set_edge_info(leaf.task_id, root.task_id, {"label": self.label})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r})"


class Label(EdgeModifier):
    """A text label on an edge, shown in the graph view (Airflow's ``Label``)."""
