"""No import cycle between Tradewind's top-level packages (grimp, as import-linter reads them).

The layers contract in pyproject.toml orders the packages; this test also catches a cycle
inside one layer (``cli : dag_test``, the authoring packages) and names every import of the
cycle with its file and line, so the fix is obvious.
"""

from __future__ import annotations

from collections import defaultdict

import grimp
import pytest

# Package-level imports allowed to close a cycle, each with its reason. The authoring packages
# are one layer: the TaskFlow decorators build operators and sensors, and a deadline's
# callback is a notifier, while those import the SDK's base classes.
ALLOWED = {
    ("sdk", "operators"): "sdk/decorators.py: @task, @task.bash, @task.virtualenv build operators",
    ("sdk", "sensors"): "sdk/decorators.py: @task.sensor builds a PythonSensor",
    ("sdk", "notifications"): "sdk/deadline.py: a deadline callback is a BaseNotifier",
}


@pytest.fixture(scope="module")
def package_imports() -> dict[tuple[str, str], list[str]]:
    """(importer package, imported package) -> 'module:line' of each import between them."""
    graph = grimp.build_graph("tradewind", cache_dir=None)
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module in graph.modules:
        top = module.split(".")[1] if "." in module else None
        for imported in graph.find_modules_directly_imported_by(module):
            other = imported.split(".")[1] if "." in imported else None
            if top is None or other is None or top == other:
                continue
            for detail in graph.get_import_details(importer=module, imported=imported):
                edges[(top, other)].append(f"{module}:{detail['line_number']}")
    return edges


def _cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected components of more than one package (Tarjan)."""
    succ: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        succ[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in succ[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted({n for e in edges for n in e}):
        if node not in index:
            visit(node)
    return found


def test_no_cycle_between_top_level_packages(package_imports) -> None:
    edges = set(package_imports) - set(ALLOWED)
    report = []
    for component in _cycles(edges):
        report.append("cycle between " + ", ".join(component) + ":")
        for a, b in sorted(edges):
            if a in component and b in component:
                report.append(f"  {a} -> {b}: " + ", ".join(package_imports[(a, b)][:3]))
    assert not report, "\n".join(report)


def test_every_allowed_import_still_exists(package_imports) -> None:
    """An allowance no import needs any more is removed, so it cannot hide a new cycle."""
    assert [edge for edge in ALLOWED if edge not in package_imports] == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == [["a", "b", "c"]]
    assert _cycles({("a", "b"), ("b", "c")}) == []
