"""dagStats, dagWarnings, providers, plugin import errors, task dependencies and extra links,
through the official client."""

from __future__ import annotations

import pytest
from tests.integration.api.conftest import Api

client = pytest.importorskip("airflow_client.client")
from airflow_client.client.api import (  # noqa: E402
    DAGApi,
    DagStatsApi,
    DagWarningApi,
    ExtraLinksApi,
    PluginApi,
    ProviderApi,
    TaskInstanceApi,
)


def _trigger(api: Api, dag_id: str, run_id: str, date: str | None = None) -> None:
    answer = api.post(
        f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": date, "dag_run_id": run_id}
    )
    assert answer.status_code == 200, answer.text


def test_dag_stats_count_runs_per_state(api: Api, airflow_client: object) -> None:
    _trigger(api, "etl", "a", "2026-02-01T00:00:00Z")
    _trigger(api, "etl", "b", "2026-02-02T00:00:00Z")
    _trigger(api, "report", "c")
    api.patch("/api/v2/dags/etl/dagRuns/b", json={"state": "failed"})
    stats = DagStatsApi(airflow_client).get_dag_stats()
    by_dag = {d.dag_id: {s.state.value: s.count for s in d.stats} for d in stats.dags}
    assert by_dag["etl"] == {"queued": 1, "running": 0, "success": 0, "failed": 1}
    assert by_dag["report"]["queued"] == 1 and stats.total_entries == 2
    only = DagStatsApi(airflow_client).get_dag_stats(dag_ids=["report"])
    assert [d.dag_id for d in only.dags] == ["report"]
    assert only.dags[0].dag_display_name == "report"


def test_dag_warnings_name_tasks_of_a_missing_pool(api: Api, airflow_client: object) -> None:
    from datetime import UTC, datetime

    from tradewind import DAG
    from tradewind.operators.empty import EmptyOperator
    from tradewind.services.testing import store_dag_object

    with DAG("pooled", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:
        EmptyOperator(task_id="t", pool="gpu")
    dag.fileloc = "/tmp/pooled.py"
    store_dag_object(api.env, dag)
    warnings = DagWarningApi(airflow_client).list_dag_warnings()
    assert warnings.total_entries == 1
    found = warnings.dag_warnings[0]
    assert found.dag_id == "pooled" and found.warning_type.value == "non-existent pool"
    assert "gpu" in found.message
    assert DagWarningApi(airflow_client).list_dag_warnings(dag_id="etl").total_entries == 0
    api.post("/api/v2/pools", json={"name": "gpu", "slots": 1})
    assert DagWarningApi(airflow_client).list_dag_warnings().total_entries == 0


def test_providers_and_plugin_import_errors(api: Api, airflow_client: object) -> None:
    providers = ProviderApi(airflow_client).get_providers()
    names = [p.package_name for p in providers.providers]
    assert "tradewind-providers-http" in names and providers.total_entries == len(names)
    assert (
        ProviderApi(airflow_client).get_providers(limit=1, offset=1).providers[0].package_name
        == names[1]
    )
    assert api.get("/api/v2/providers", user="user").status_code == 403

    from tradewind.plugins_manager import load_plugins

    folder = api.env.settings.get("core", "plugins_folder")
    import pathlib

    pathlib.Path(folder).mkdir(parents=True, exist_ok=True)
    (pathlib.Path(folder) / "broken.py").write_text("import no_such_module_here\n")
    try:
        load_plugins(api.env.settings, reload=True)  # what the web server does at start
        errors = PluginApi(airflow_client).import_errors()
        assert errors.total_entries == 1
        assert errors.import_errors[0].source.endswith("broken.py")
        assert "no_such_module_here" in errors.import_errors[0].error
    finally:
        (pathlib.Path(folder) / "broken.py").unlink()
        load_plugins(api.env.settings, reload=True)


def test_dependencies_say_why_a_task_waits(api: Api, airflow_client: object) -> None:
    _trigger(api, "etl", "r", "2026-02-01T00:00:00Z")
    tis = TaskInstanceApi(airflow_client)
    deps = tis.get_task_instance_dependencies("etl", "r", "transform").dependencies
    names = [d.name for d in deps]
    assert names == sorted(names)
    assert {"Dag Not Paused", "Dagrun Running", "Trigger Rule"} <= set(names)
    rule = next(d for d in deps if d.name == "Trigger Rule")
    assert "all_success" in rule.reason and "extract" in rule.reason
    first = {d.name for d in tis.get_task_instance_dependencies("etl", "r", "extract").dependencies}
    assert "Trigger Rule" not in first  # no upstream
    api.patch("/api/v2/dags/etl/dagRuns/r/taskInstances/transform", json={"new_state": "success"})
    assert tis.get_task_instance_dependencies("etl", "r", "transform").dependencies == []
    missing = api.get("/api/v2/dags/etl/dagRuns/r/taskInstances/nope/dependencies")
    assert missing.status_code == 404


def test_extra_links_of_a_task_instance(api: Api, airflow_client: object) -> None:
    _trigger(api, "report", "r")
    links = ExtraLinksApi(airflow_client).get_extra_links("report", "r", "only")
    assert links.extra_links == {} and links.total_entries == 0
    assert api.get("/api/v2/dags/report/dagRuns/r/taskInstances/x/links").status_code == 404
    assert DAGApi(airflow_client).get_dag("report").dag_id == "report"


def test_tries_through_the_client(api: Api, airflow_client: object) -> None:
    from airflow_client.client.exceptions import NotFoundException

    from tradewind.services.testing import queue_single_task

    _trigger(api, "report", "r")
    queue_single_task(api.env, "report", "r", "only")
    tis = TaskInstanceApi(airflow_client)
    tries = tis.get_task_instance_tries("report", "r", "only")
    assert tries.total_entries == 1 and tries.task_instances[0].try_number == 1
    one = tis.get_task_instance_try_details("report", "r", "only", 1)
    assert one.try_number == 1 and one.task_id == "only"
    with pytest.raises(NotFoundException):
        tis.get_task_instance_try_details("report", "r", "only", 5)
