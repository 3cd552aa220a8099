"""Acceptance: the official ``apache-airflow-client`` (3.x) against a real ``tradewind
webserver`` and ``tradewind scheduler``, as a black box, with its strict response models."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

client_mod = pytest.importorskip("airflow_client.client")

from airflow_client.client import ApiClient, Configuration  # noqa: E402
from airflow_client.client.api import (  # noqa: E402
    AssetApi,
    ConnectionApi,
    DAGApi,
    DagRunApi,
    DagVersionApi,
    JobApi,
    MonitorApi,
    PluginApi,
    PoolApi,
    TaskApi,
    TaskInstanceApi,
    VariableApi,
)
from airflow_client.client.models import (  # noqa: E402
    ConnectionBody,
    DAGPatchBody,
    DAGRunsBatchBody,
    PoolBody,
    PoolPatchBody,
    TaskInstancesBatchBody,
    TriggerDAGRunPostBody,
    VariableBody,
)

pytestmark = pytest.mark.slow

DAG_FILE = textwrap.dedent(
    """\
    import datetime
    from tradewind import DAG
    from tradewind.operators.bash import BashOperator

    with DAG("client_e2e", schedule=None, tags=["e2e"],
             start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)) as dag:
        hello = BashOperator(task_id="hello", bash_command="echo hello-from-tradewind")
        bye = BashOperator(task_id="bye", bash_command="echo bye")
        hello >> bye
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tradewind(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradewind.cli.main", *args]
        if _has_main()
        else ["tradewind", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def _has_main() -> bool:
    return (Path(__file__).parents[2] / "src/tradewind/cli/__main__.py").exists()


def _wait(predicate, timeout: float, what: str):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as exc:  # noqa: BLE001 - keep polling until the deadline
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Tradewind home with one DAG, an admin user, a web server and a scheduler."""
    home = tmp_path_factory.mktemp("client_home")
    (home / "dags").mkdir()
    (home / "dags" / "client_e2e.py").write_text(DAG_FILE)
    env = {**os.environ, "TRADEWIND_HOME": str(home), "TRADEWIND__SCHEDULER__POLL_INTERVAL": "0.2"}
    _tradewind(env, "db", "init")
    _tradewind(
        env,
        "users",
        "create",
        "--role",
        "Admin",
        "--username",
        "admin",
        "--email",
        "admin@example.com",
        "--firstname",
        "Ada",
        "--lastname",
        "Admin",
        "--password",
        "pw",
    )
    port = _free_port()
    logs = [open(home / name, "w") for name in ("web.log", "scheduler.log")]  # noqa: SIM115
    procs = [
        subprocess.Popen(
            ["tradewind", "webserver", "-p", str(port), "--host", "127.0.0.1"],
            env=env,
            stdout=logs[0],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        ),
        subprocess.Popen(
            ["tradewind", "scheduler"],
            env=env,
            stdout=logs[1],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        ),
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(
            lambda: httpx.get(f"{url}/api/v2/version", timeout=2).status_code == 200,
            30,
            "web server",
        )
        yield url
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for f in logs:
            f.close()
        for name in ("web.log", "scheduler.log"):
            print(f"--- {name}\n" + (home / name).read_text()[-3000:])


@pytest.fixture(scope="module")
def api(server: str) -> Iterator[ApiClient]:
    answer = httpx.post(f"{server}/auth/token", json={"username": "admin", "password": "pw"})
    assert answer.status_code == 201
    cfg = Configuration(host=server, access_token=answer.json()["access_token"])
    with ApiClient(cfg) as client:
        yield client


def test_token_is_required(server: str) -> None:
    assert httpx.get(f"{server}/api/v2/dags").status_code == 401
    bad = httpx.post(f"{server}/auth/token", json={"username": "admin", "password": "no"})
    assert bad.status_code == 401


def test_list_dags_tasks_trigger_and_read_the_log(api: ApiClient) -> None:
    dags = DAGApi(api)
    found = _wait(lambda: dags.get_dags(dag_id_pattern="client_e2e").dags, 60, "the DAG parsed")
    assert found[0].dag_id == "client_e2e" and found[0].tags[0].name == "e2e"
    tasks = TaskApi(api).get_tasks("client_e2e")
    assert sorted(t.task_id for t in tasks.tasks) == ["bye", "hello"]
    assert dags.patch_dag("client_e2e", DAGPatchBody(is_paused=False)).is_paused is False
    runs = DagRunApi(api)
    run = runs.trigger_dag_run("client_e2e", TriggerDAGRunPostBody(logical_date=None, conf={}))
    assert run is not None and run.logical_date is None
    finished = _wait(
        lambda: (
            (r := runs.get_dag_run("client_e2e", run.dag_run_id)).state.value
            in ("success", "failed")
            and r
        ),
        60,
        "the run to finish",
    )
    assert finished.state.value == "success"
    tis = TaskInstanceApi(api).get_task_instances("client_e2e", run.dag_run_id)
    assert {t.task_id: t.state.value for t in tis.task_instances} == {
        "hello": "success",
        "bye": "success",
    }
    log = TaskInstanceApi(api).get_log("client_e2e", run.dag_run_id, "hello", 1)
    lines = log.content.actual_instance  # the client's anyOf wrapper: structured lines or strings
    events = [getattr(line, "event", line) for line in lines]
    assert any("hello-from-tradewind" in str(e) for e in events)
    health = MonitorApi(api).get_health()
    assert health.metadatabase.status == "healthy" and health.scheduler.status == "healthy"
    batch = runs.get_list_dag_runs_batch("~", DAGRunsBatchBody(dag_ids=["client_e2e"]))
    assert [r.dag_run_id for r in batch.dag_runs] == [run.dag_run_id]
    body = TaskInstancesBatchBody(dag_ids=["client_e2e"], state=["success"])
    ti_batch = TaskInstanceApi(api).get_task_instances_batch("~", "~", body)
    assert ti_batch.total_entries == 2
    versions = DagVersionApi(api).get_dag_versions("client_e2e")
    assert versions.dag_versions[0].version_number == 1
    assert any(j.job_type == "SchedulerJob" for j in JobApi(api).get_jobs(is_alive=True).jobs)
    assert AssetApi(api).get_assets().total_entries == 0
    assert PluginApi(api).get_plugins().total_entries >= 0


def test_variables(api: ApiClient) -> None:
    variables = VariableApi(api)
    created = variables.post_variable(
        VariableBody(key="region", value="eu-west-1", description="d")
    )
    assert created.value == "eu-west-1"
    variables.post_variable(VariableBody(key="db_password", value="hunter2"))
    assert variables.get_variable("db_password").value == "***"
    patched = variables.patch_variable("region", VariableBody(key="region", value="us-east-1"))
    assert patched.value == "us-east-1"
    listed = variables.get_variables(variable_key_pattern="region")
    assert listed.total_entries == 1
    variables.delete_variable("region")
    assert variables.get_variables(variable_key_pattern="region").total_entries == 0


def test_connections(api: ApiClient) -> None:
    conns = ConnectionApi(api)
    body = ConnectionBody(
        connection_id="pg",
        conn_type="postgres",
        host="127.0.0.1",
        login="me",
        password="s3cret",
        port=5432,
        var_schema="db",
    )
    created = conns.post_connection(body)
    assert created.password in (None, "***") and created.var_schema == "db"
    assert conns.get_connection("pg").password in (None, "***")
    assert conns.get_connections().total_entries >= 1
    conns.delete_connection("pg")


def test_pools(api: ApiClient) -> None:
    pools = PoolApi(api)
    created = pools.post_pool(PoolBody(name="small", slots=2, description="two"))
    assert created.slots == 2 and created.open_slots == 2
    patched = pools.patch_pool("small", PoolPatchBody(pool="small", slots=4), update_mask=["slots"])
    assert patched.slots == 4
    names = [p.name for p in pools.get_pools().pools]
    assert "default_pool" in names and "small" in names
    pools.delete_pool("small")


def test_wait_until_a_run_finishes_and_bulk_and_stats(api: ApiClient) -> None:
    """What a CI job does: trigger, then block on ``wait_dag_run_until_finished`` while the
    real scheduler runs the tasks; then the new read endpoints see the finished run."""
    from airflow_client.client.api import DagStatsApi, ProviderApi
    from airflow_client.client.models import BulkBodyVariableBody

    dags = DAGApi(api)
    _wait(lambda: dags.get_dags(dag_id_pattern="client_e2e").dags, 60, "the DAG parsed")
    dags.patch_dag("client_e2e", DAGPatchBody(is_paused=False))
    runs = DagRunApi(api)
    run = runs.trigger_dag_run("client_e2e", TriggerDAGRunPostBody(logical_date=None))
    result = runs.wait_dag_run_until_finished(
        "client_e2e", run.dag_run_id, interval=0.5, result=["hello"]
    )
    assert result["state"] == "success"
    assert "hello-from-tradewind" in str(result["results"]["hello"])
    stats = DagStatsApi(api).get_dag_stats(dag_ids=["client_e2e"]).dags[0]
    assert {s.state.value: s.count for s in stats.stats}["success"] >= 1
    assert ProviderApi(api).get_providers().total_entries >= 1
    deps = TaskInstanceApi(api).get_task_instance_dependencies("client_e2e", run.dag_run_id, "bye")
    assert deps.dependencies == []  # finished: nothing holds it back
    bulk = VariableApi(api).bulk_variables(
        BulkBodyVariableBody.from_dict(
            {"actions": [{"action": "create", "entities": [{"key": "e2e_bulk", "value": "1"}]}]}
        )
    )
    assert bulk.create.success == ["e2e_bulk"]
