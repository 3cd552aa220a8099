"""The front ends open no database session (#16): services own their transactions.

Use cases are service objects bound to the environment (``DagService``, ``RunService``,
``TaskInstanceService``, ``VariableService``, ``ConnectionService``, ``SchedulerPass``...; see
docs/architecture.md); every module of the REST API, the CLI, the UI and the scheduler loop
only calls them. pyproject's import contract "front ends moved to services import no
SQLAlchemy nor the metastore" locks the same packages against direct imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "tradewind"
FRONT_ENDS = ("api", "cli", "ui", "scheduler")
MODULES = sorted(
    str(p.relative_to(SRC)) for front in FRONT_ENDS for p in (SRC / front).rglob("*.py")
)


def _session_uses(tree: ast.AST) -> list[int]:
    """Lines that reach the metastore directly: ``<x>.db.session(...)``, ``<x>.db.engine``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("session", "engine"):
            owner = node.value
            if isinstance(owner, ast.Attribute) and owner.attr == "db":
                found.append(node.lineno)
    return sorted(found)


@pytest.mark.parametrize("rel", MODULES)
def test_front_end_module_opens_no_session(rel: str) -> None:
    tree = ast.parse((SRC / rel).read_text(), rel)
    assert _session_uses(tree) == [], f"{rel} opens a session: call the service instead"


def test_every_front_end_is_checked() -> None:
    assert {m.split("/")[0] for m in MODULES} == set(FRONT_ENDS)
    assert "scheduler/loop.py" in MODULES and "api/v2/routes/dag_runs.py" in MODULES


def test_the_check_sees_a_session() -> None:
    code = "def f(env):\n    with env.db.session() as s:\n        return env.db.engine\n"
    assert _session_uses(ast.parse(code)) == [2, 3]
