"""Edge labels (``a >> Label("...") >> b``) are drawn on the graph page, escaped."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tradewind.dag_processing.processor import DagProcessor
from tradewind.services.env import Env

LABELED = """
from datetime import datetime, timezone
from tradewind import DAG
from tradewind.operators.empty import EmptyOperator
from tradewind.sdk.edges import Label

with DAG("labeled", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc)):
    EmptyOperator(task_id="a") >> Label("when <b>empty</b>") >> EmptyOperator(task_id="b")
"""


def test_graph_page_shows_edge_labels(env: Env, client_for: Callable[[str], TestClient]) -> None:
    (env.settings.dags_folder / "labeled.py").write_text(LABELED)
    DagProcessor(env.settings, env.db).run_once(force=True)
    page = client_for("admin").get("/dags/labeled/graph")
    assert page.status_code == 200
    assert 'class="edge-label"' in page.text
    assert "when &lt;b&gt;empty&lt;/b&gt;" in page.text
    assert "<b>empty</b>" not in page.text
