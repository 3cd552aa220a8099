"""The Assets page and the DAGs page's schedule column for DAGs scheduled on assets."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from tests.integration.ui.conftest import NOW

from tradewind.services.env import Env

ASSET_DAGS = """
import datetime
from tradewind import DAG
from tradewind.operators.empty import EmptyOperator
from tradewind.sdk.assets import Asset

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
orders, stock = Asset("s3://shop/orders.parquet"), Asset("s3://shop/<stock>.csv")
with DAG("load_orders", schedule=None, start_date=START):
    EmptyOperator(task_id="write", outlets=[orders])
with DAG("report_sales", schedule=(orders & stock), start_date=START,
         is_paused_upon_creation=False):
    EmptyOperator(task_id="report")
"""


def test_assets_page_shows_producers_consumers_and_events(
    env: Env, client_for: Callable[[str], TestClient]
) -> None:
    from tradewind.dag_processing.processor import DagProcessor
    from tradewind.dag_test import run_dag_in_process
    from tradewind.sdk.loader import load_file

    path = env.settings.dags_folder / "asset_dags.py"
    path.write_text(ASSET_DAGS)
    DagProcessor(env.settings, env.db).run_once(force=True)
    producer = next(
        d for d in load_file(str(path), str(env.settings.dags_folder)).dags
        if d.dag_id == "load_orders"
    )  # fmt: skip
    run_dag_in_process(producer, NOW, env=env, echo=False)

    viewer = client_for("viewer")
    dags = viewer.get("/dags").text
    assert (
        "Asset</a> <code>s3://shop/orders.parquet &amp; s3://shop/&lt;stock&gt;.csv</code>" in dags
    )
    page = viewer.get("/assets")
    assert page.status_code == 200
    html = page.text
    assert "s3://shop/orders.parquet" in html and "s3://shop/&lt;stock&gt;.csv" in html
    assert "<stock>" not in html  # escaped
    assert ">load_orders</a>.write" in html  # the producing task
    assert ">report_sales</a>" in html  # the consuming DAG
    events = html.split('id="asset-events"')[1]
    assert ">load_orders</a>.write" in events and "never" in html  # stock was never updated
    only = viewer.get("/assets", params={"q": "stock"}).text.split('id="asset-events"')[0]
    assert "orders.parquet" not in only and "stock" in only
    assert ">Assets</a>" in viewer.get("/dags").text  # in the menu
