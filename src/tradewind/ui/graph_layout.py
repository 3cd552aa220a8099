"""Left-to-right layered layout of a DAG: longest-path layers, barycentric ordering.

Pure functions over task ids and edges; the graph page draws the result as inline SVG.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

NODE_W, NODE_H = 170, 30
GAP_X, GAP_Y = 60, 16
MARGIN = 10
SWEEPS = 4


@dataclass(frozen=True)
class Node:
    """A placed task: its box's top-left corner."""

    task_id: str
    layer: int
    x: int
    y: int


@dataclass(frozen=True)
class Edge:
    """A drawn dependency: from the right side of one box to the left side of another."""

    src: str
    dst: str
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass(frozen=True)
class Layout:
    """Placed nodes and edges and the drawing's size."""

    nodes: list[Node]
    edges: list[Edge]
    width: int
    height: int


def layers(order: Sequence[str], upstream: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Longest-path layering: a task sits one layer right of its furthest upstream task.

    Args:
        order: Task ids in topological order (upstream first).
        upstream: Each task's upstream task ids.
    """
    out: dict[str, int] = {}
    for tid in order:
        out[tid] = max((out[u] + 1 for u in upstream.get(tid, ()) if u in out), default=0)
    return out


def _barycenter(
    node: str, neighbours: Sequence[str], pos: Mapping[str, int], fallback: int
) -> float:
    placed = [pos[n] for n in neighbours if n in pos]
    return sum(placed) / len(placed) if placed else float(fallback)


def order_layers(
    by_layer: list[list[str]],
    upstream: Mapping[str, Sequence[str]],
    downstream: Mapping[str, Sequence[str]],
) -> list[list[str]]:
    """Reorder each layer by the mean position of neighbours, sweeping right then left."""
    result = [list(layer) for layer in by_layer]
    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        indices = range(1, len(result)) if forward else range(len(result) - 2, -1, -1)
        for i in indices:
            ref = result[i - 1] if forward else result[i + 1]
            pos = {tid: p for p, tid in enumerate(ref)}
            links = upstream if forward else downstream
            index = {tid: p for p, tid in enumerate(result[i])}
            result[i] = sorted(
                result[i],
                key=lambda t, lk=links, ps=pos, ix=index: (  # type: ignore[misc]
                    _barycenter(t, lk.get(t, ()), ps, ix[t]),
                    ix[t],
                ),
            )
    return result


def layout(order: Sequence[str], upstream: Mapping[str, Sequence[str]]) -> Layout:
    """Place every task of a DAG left to right.

    Args:
        order: Task ids in topological order.
        upstream: Each task's upstream task ids.
    """
    layer_of = layers(order, upstream)
    count = max(layer_of.values(), default=-1) + 1
    by_layer: list[list[str]] = [[] for _ in range(count)]
    for tid in order:
        by_layer[layer_of[tid]].append(tid)
    downstream: dict[str, list[str]] = {tid: [] for tid in order}
    for tid in order:
        for u in upstream.get(tid, ()):
            downstream.setdefault(u, []).append(tid)
    by_layer = order_layers(by_layer, upstream, downstream)
    nodes: dict[str, Node] = {}
    for li, layer in enumerate(by_layer):
        for row, tid in enumerate(layer):
            x = MARGIN + li * (NODE_W + GAP_X)
            y = MARGIN + row * (NODE_H + GAP_Y)
            nodes[tid] = Node(tid, li, x, y)
    edges = [
        Edge(
            u,
            tid,
            nodes[u].x + NODE_W,
            nodes[u].y + NODE_H // 2,
            nodes[tid].x,
            nodes[tid].y + NODE_H // 2,
        )
        for tid in order
        for u in upstream.get(tid, ())
        if u in nodes
    ]
    tallest = max((len(layer) for layer in by_layer), default=0)
    width = 2 * MARGIN + count * NODE_W + max(count - 1, 0) * GAP_X
    height = 2 * MARGIN + tallest * NODE_H + max(tallest - 1, 0) * GAP_Y
    return Layout(list(nodes.values()), edges, width, height)
