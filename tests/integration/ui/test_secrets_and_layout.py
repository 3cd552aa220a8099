"""Secrets never reach a page; import errors are shown; the graph layout is layered."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tradewind.services.connections import add_connection
from tradewind.services.env import Env
from tradewind.services.variables import set_variable
from tradewind.ui.graph_layout import layers, layout


def test_connection_passwords_and_secret_variables_are_not_shown(
    env: Env, client_for: Callable[[str], TestClient]
) -> None:
    with env.db.session() as s:
        add_connection(
            env,
            s,
            {
                "conn_id": "warehouse",
                "conn_type": "postgres",
                "host": "db.local",
                "login": "etl",
                "password": "hunter2-pw",
            },
        )
        set_variable(env, s, "api_token", "tok-s3cr3t")
        set_variable(env, s, "region", "eu-west-1")
    client = client_for("admin")
    conns = client.get("/admin/connections").text
    assert "warehouse" in conns and "db.local" in conns and "hunter2-pw" not in conns
    variables = client.get("/admin/variables").text
    assert "eu-west-1" in variables and "tok-s3cr3t" not in variables and "***" in variables


def test_variables_are_not_for_viewers(client_for: Callable[[str], TestClient]) -> None:
    assert client_for("viewer").get("/admin/variables").status_code == 403


def test_import_errors_banner_names_the_file(client_for: Callable[[str], TestClient]) -> None:
    html = client_for("viewer").get("/dags").text
    assert 'id="import-errors"' in html and "syntax_error.py" in html


def test_layers_follow_the_longest_path() -> None:
    upstream = {"a": [], "b": ["a"], "c": ["b"], "d": ["a", "c"]}
    assert layers(["a", "b", "c", "d"], upstream) == {"a": 0, "b": 1, "c": 2, "d": 3}


def test_layout_orders_nodes_next_to_their_parents() -> None:
    # Two chains a1->a2 and b1->b2 whose second layer is listed crossed: ordering uncrosses it.
    upstream = {"a1": [], "b1": [], "b2": ["b1"], "a2": ["a1"]}
    drawing = layout(["a1", "b1", "b2", "a2"], upstream)
    y = {n.task_id: n.y for n in drawing.nodes}
    assert (y["a1"] < y["b1"]) == (y["a2"] < y["b2"])
    assert all(e.x1 < e.x2 for e in drawing.edges)
    assert drawing.width > 0 and drawing.height > 0
