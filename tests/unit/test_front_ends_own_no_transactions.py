"""Front-end modules whose use cases moved into services open no database session (#16).

Variables, connections and pools are written once, in services that own their transactions
(``VariableService``, ``ConnectionService``, ``PoolService``); these CLI and UI modules only
call them. The list grows as more front ends move; pyproject's import contract "front ends
moved to services import no SQLAlchemy" locks the same modules against direct imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "tradewind"
SESSION_FREE = [
    "cli/connections.py",
    "cli/variables.py",
    "cli/pools.py",
    "cli/users.py",
    "ui/admin.py",
    "ui/admin_users.py",
    "api/deps.py",
    "api/web_session.py",
]


def _session_uses(tree: ast.AST) -> list[int]:
    """Lines that reach the metastore directly: ``<x>.db.session(...)``, ``<x>.db.engine``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("session", "engine"):
            owner = node.value
            if isinstance(owner, ast.Attribute) and owner.attr == "db":
                found.append(node.lineno)
    return sorted(found)


@pytest.mark.parametrize("rel", SESSION_FREE)
def test_front_end_module_opens_no_session(rel: str) -> None:
    tree = ast.parse((SRC / rel).read_text(), rel)
    assert _session_uses(tree) == [], f"{rel} opens a session: call the service instead"


def test_the_check_sees_a_session() -> None:
    code = "def f(env):\n    with env.db.session() as s:\n        return env.db.engine\n"
    assert _session_uses(ast.parse(code)) == [2, 3]
