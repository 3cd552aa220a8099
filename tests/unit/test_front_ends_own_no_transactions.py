"""Front-end modules whose use cases moved into services open no database session (#16).

Variables, connections and pools are written once, in services that own their transactions
(``VariableService``, ``ConnectionService``, ``PoolService``); these CLI and UI modules only
call them. Every module of the front ends (api, cli, ui, scheduler) is checked, minus the
pending lists, which only shrink; pyproject's import contract "front ends
moved to services import no SQLAlchemy" locks the same modules against direct imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "tradewind"
FRONT_ENDS = ("api", "cli", "ui", "scheduler")
#: Modules not moved yet, by front end: each list only shrinks (a module that moves is taken
#: off, and the test then keeps it session-free).
PENDING_API = {
    "api/v2/routes/bulk_runs.py", "api/v2/routes/dags.py",
}  # fmt: skip
PENDING_CLI_UI: set[str] = set()
PENDING = PENDING_API | PENDING_CLI_UI
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


@pytest.mark.parametrize("rel", [m for m in MODULES if m not in PENDING])
def test_front_end_module_opens_no_session(rel: str) -> None:
    tree = ast.parse((SRC / rel).read_text(), rel)
    assert _session_uses(tree) == [], f"{rel} opens a session: call the service instead"


@pytest.mark.parametrize("rel", sorted(PENDING))
def test_a_pending_module_still_opens_one(rel: str) -> None:
    """Keeps the pending lists true: a module that moved must be taken off them."""
    tree = ast.parse((SRC / rel).read_text(), rel)
    assert _session_uses(tree), f"{rel} no longer opens a session: take it off PENDING"


def test_the_check_sees_a_session() -> None:
    code = "def f(env):\n    with env.db.session() as s:\n        return env.db.engine\n"
    assert _session_uses(ast.parse(code)) == [2, 3]
