"""Asset events in task code, written as Airflow users write them: ``outlet_events`` extras,
``yield Metadata(...)``, ``AssetAlias`` outlets, ``inlet_events`` and alias-scheduled DAGs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.compat.conftest import DAY, load_dags, run, states, xcom

FILE = """
import pendulum
from airflow.sdk import DAG, Asset, AssetAlias, Metadata, task
from airflow.providers.standard.operators.bash import BashOperator

orders = Asset("s3://shop/orders.parquet")
START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("by_context", schedule=None, start_date=START):
    @task(outlets=[orders])
    def load(*, outlet_events=None):
        outlet_events[orders].extra = {"rows": 120}
    load()

with DAG("by_yield", schedule=None, start_date=START):
    @task(outlets=[orders])
    def load_again():
        yield Metadata(orders, {"rows": 7})
        return "done"
    load_again()

with DAG("by_post_execute", schedule=None, start_date=START):
    def _extra(context, result):
        context["outlet_events"][orders].extra = {"from": "post_execute"}
    BashOperator(task_id="echo", bash_command="echo hi", outlets=[orders], post_execute=_extra)

with DAG("through_alias", schedule=None, start_date=START):
    @task(outlets=[AssetAlias("daily-export")])
    def export(*, outlet_events=None):
        outlet_events[AssetAlias("daily-export")].add(Asset("s3://shop/2026-01-05"), {"n": 1})
    export()

with DAG("undeclared", schedule=None, start_date=START):
    @task(outlets=[orders])
    def sneaky(*, outlet_events=None):
        outlet_events[Asset("s3://other/x")].extra = {"no": "thanks"}
    sneaky()

with DAG("reader", schedule=None, start_date=START):
    @task(inlets=[orders, AssetAlias("daily-export")])
    def read(*, inlet_events=None):
        extras = [e.extra for e in inlet_events[orders]]
        via_alias = [(e.uri, e.extra) for e in inlet_events[AssetAlias("daily-export")]]
        return {"extras": extras, "alias": via_alias, "by_uri": len(inlet_events.for_asset(
            uri="s3://shop/orders.parquet"))}
    read()
    BashOperator(
        task_id="template",
        inlets=[orders],
        bash_command="echo '{{ inlet_events.for_asset(uri='s3://shop/orders.parquet')[-1].extra | tojson }}'",
    )

with DAG(
    "on_alias", schedule=[AssetAlias("daily-export")], start_date=START, is_paused_upon_creation=False
):
    @task
    def react():
        return "reacted"
    react()
"""


def _events(env: Any) -> list[tuple[str, dict[str, Any], str | None, str | None]]:
    from sqlalchemy import select

    from tradewind.metastore.tables import AssetEvent, AssetModel

    with env.db.session(readonly=True) as s:
        rows = s.execute(
            select(AssetModel.uri, AssetEvent.extra, AssetEvent.source_dag_id,
                   AssetEvent.source_alias_name)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .order_by(AssetEvent.id)
        ).all()  # fmt: skip
    return [(u, e, d, a) for u, e, d, a in rows]


def test_extras_set_in_task_code_are_recorded_with_the_event(env: Any, tmp_path: Path) -> None:
    dags = load_dags(tmp_path, "events.py", FILE)
    for dag_id in ("by_context", "by_yield", "by_post_execute"):
        assert run(dags[dag_id], env).state == "success", dag_id
    assert xcom(env, run(dags["by_yield"], env, logical_date=DAY.replace(day=6)), "load_again") == (
        "done"
    )  # the generator's return value is the task's result
    uri = "s3://shop/orders.parquet"
    assert [(u, e, d) for u, e, d, _ in _events(env)] == [
        (uri, {"rows": 120}, "by_context"),
        (uri, {"rows": 7}, "by_yield"),
        (uri, {"from": "post_execute"}, "by_post_execute"),
        (uri, {"rows": 7}, "by_yield"),
    ]


def test_alias_outlet_records_the_added_asset_and_triggers_dags_on_the_alias(
    env: Any, tmp_path: Path
) -> None:
    from tradewind.services.asset_scheduling import create_asset_triggered_runs
    from tradewind.services.runs import list_runs
    from tradewind.services.scheduling import DagCache
    from tradewind.services.testing import store_dag_object

    dags = load_dags(tmp_path, "events.py", FILE)
    store_dag_object(env, dags["on_alias"])
    with env.db.session() as s:
        assert create_asset_triggered_runs(s, DagCache(), env.now()) == 0
    assert states(run(dags["through_alias"], env)) == {"export": "success"}
    assert _events(env) == [("s3://shop/2026-01-05", {"n": 1}, "through_alias", "daily-export")]
    with env.db.session() as s:
        assert create_asset_triggered_runs(s, DagCache(), env.now()) == 1
        assert create_asset_triggered_runs(s, DagCache(), env.now()) == 0  # consumed once
    with env.db.session(readonly=True) as s:
        assert [r.run_type for r in list_runs(s, dag_id="on_alias")] == ["asset_triggered"]


def test_an_event_for_an_asset_not_in_outlets_is_not_recorded(env: Any, tmp_path: Path) -> None:
    dags = load_dags(tmp_path, "events.py", FILE)
    assert run(dags["undeclared"], env).state == "success"
    assert _events(env) == [("s3://shop/orders.parquet", {}, "undeclared", None)]


def test_inlet_events_read_the_recorded_events_oldest_first(env: Any, tmp_path: Path) -> None:
    dags = load_dags(tmp_path, "events.py", FILE)
    empty = run(dags["reader"], env)
    assert states(empty) == {"read": "success", "template": "failed"}  # [-1] of no events
    assert xcom(env, empty, "read") == {"extras": [], "alias": [], "by_uri": 0}
    for dag_id in ("by_context", "through_alias", "by_post_execute"):
        run(dags[dag_id], env)
    result = run(dags["reader"], env, logical_date=DAY.replace(day=6))
    assert states(result) == {"read": "success", "template": "success"}
    assert xcom(env, result, "read") == {
        "extras": [{"rows": 120}, {"from": "post_execute"}],
        "alias": [["s3://shop/2026-01-05", {"n": 1}]],
        "by_uri": 2,
    }
    assert xcom(env, result, "template") == '{"from": "post_execute"}'
