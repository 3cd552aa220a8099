"""Draw a DAG's tasks and edges for a terminal (a rich tree, layers) or for Graphviz (DOT)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def layers(upstream: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Group task ids by depth: layer n holds tasks whose longest upstream path has n edges."""
    depth: dict[str, int] = {}

    def visit(tid: str, trail: frozenset[str]) -> int:
        if tid in depth:
            return depth[tid]
        if tid in trail:  # a cycle never gets stored, but do not recurse forever on one
            return 0
        ups = [u for u in upstream.get(tid, ()) if u in upstream]
        d = 1 + max((visit(u, trail | {tid}) for u in ups), default=-1)
        depth[tid] = d
        return d

    for tid in sorted(upstream):
        visit(tid, frozenset())
    out: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for tid in sorted(depth):
        out[depth[tid]].append(tid)
    return out


def edges(downstream: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    """Every edge (upstream, downstream), sorted."""
    return sorted((u, d) for u, ds in downstream.items() for d in ds)


def to_dot(dag_id: str, tasks: Mapping[str, Mapping[str, Any]]) -> str:
    """Return Graphviz DOT text (``dot -Tpng dag.dot -o dag.png`` renders it)."""

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace('"', '\\"')

    def q(text: str) -> str:
        return f'"{esc(text)}"'

    lines = [
        f"digraph {q(dag_id)} {{",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled"];',
    ]
    for tid in sorted(tasks):
        t = tasks[tid]
        label = f"{esc(tid)}\\n{esc(str(t.get('operator', '')))}"
        color = q(t.get("ui_color") or "#ffffff")
        lines.append(f'  {q(tid)} [label="{label}", fillcolor={color}];')
    for up, down in edges({tid: t.get("downstream", []) for tid, t in tasks.items()}):
        lines.append(f"  {q(up)} -> {q(down)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def tree(dag_id: str, tasks: Mapping[str, Mapping[str, Any]]) -> Any:
    """A rich Tree from the roots downwards; a task reached again is shown once, then referred to."""
    from rich.markup import escape
    from rich.tree import Tree

    root = Tree(f"[bold]{escape(dag_id)}[/]")
    shown: set[str] = set()

    def label(tid: str) -> str:
        t = tasks[tid]
        extra = []
        if t.get("trigger_rule") not in (None, "all_success"):
            extra.append(f"trigger_rule={t['trigger_rule']}")
        if t.get("retries"):
            extra.append(f"retries={t['retries']}")
        tail = f" [dim]({', '.join(extra)})[/]" if extra else ""
        return f"{escape(tid)} [cyan]{escape(str(t.get('operator', '')))}[/]{tail}"

    def add(node: Any, tid: str) -> None:
        if tid in shown:
            node.add(f"[dim]{escape(tid)} (see above)[/]")
            return
        shown.add(tid)
        branch = node.add(label(tid))
        for child in sorted(tasks[tid].get("downstream", [])):
            add(branch, child)

    for tid in sorted(t for t, v in tasks.items() if not v.get("upstream")):
        add(root, tid)
    return root
