"""Acceptance: the official ``apache-airflow-client`` reads mapped task instances from a real
``tradewind webserver`` + ``tradewind scheduler`` (listMapped, one map index, its tries)."""

from __future__ import annotations

import os
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("airflow_client.client")

from airflow_client.client import ApiClient, Configuration  # noqa: E402
from airflow_client.client.api import DAGApi, DagRunApi, TaskApi, TaskInstanceApi  # noqa: E402
from airflow_client.client.exceptions import NotFoundException  # noqa: E402
from airflow_client.client.models import DAGPatchBody, TriggerDAGRunPostBody  # noqa: E402
from tests.e2e.test_airflow_client import _free_port, _tradewind, _wait  # noqa: E402

pytestmark = pytest.mark.slow

DAG_FILE = textwrap.dedent(
    """\
    import datetime
    from tradewind import DAG, task

    with DAG("mapped_e2e", schedule=None,
             start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)) as dag:

        @task
        def cities():
            return ["Lisbon", "Oslo", "Quito"]

        @task(map_index_template="{{ task.op_kwargs['city'] }}")
        def weather(city):
            return f"sunny in {city}"

        @task
        def report(lines):
            return list(lines)

        report(weather.expand(city=cities()))
    """
)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    home: Path = tmp_path_factory.mktemp("mapped_client_home")
    (home / "dags").mkdir()
    (home / "dags" / "mapped_e2e.py").write_text(DAG_FILE)
    env = {**os.environ, "TRADEWIND_HOME": str(home), "TRADEWIND__SCHEDULER__POLL_INTERVAL": "0.2"}
    _tradewind(env, "db", "init")
    _tradewind(
        env,
        *("users", "create", "--role", "Admin", "--username", "admin", "--email", "a@b.c"),
        *("--firstname", "Ada", "--lastname", "Admin", "--password", "pw"),
    )
    port = _free_port()
    logs = [open(home / n, "w") for n in ("web.log", "scheduler.log")]  # noqa: SIM115
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
        _wait(lambda: httpx.get(f"{url}/api/v2/version", timeout=2).status_code == 200, 30, "web")
        answer = httpx.post(f"{url}/auth/token", json={"username": "admin", "password": "pw"})
        cfg = Configuration(host=url, access_token=answer.json()["access_token"])
        with ApiClient(cfg) as client:
            yield client
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
        for n in ("web.log", "scheduler.log"):
            print(f"--- {n}\n" + (home / n).read_text()[-3000:])


def test_the_official_client_reads_mapped_instances(api: ApiClient) -> None:
    dags = DAGApi(api)
    _wait(lambda: dags.get_dags(dag_id_pattern="mapped_e2e").dags, 60, "the DAG parsed")
    tasks = {t.task_id: t for t in TaskApi(api).get_tasks("mapped_e2e").tasks}
    assert tasks["weather"].is_mapped is True and tasks["report"].is_mapped is False
    dags.patch_dag("mapped_e2e", DAGPatchBody(is_paused=False))
    runs = DagRunApi(api)
    run = runs.trigger_dag_run("mapped_e2e", TriggerDAGRunPostBody(logical_date=None, conf={}))
    done = _wait(
        lambda: (
            (r := runs.get_dag_run("mapped_e2e", run.dag_run_id)).state.value
            in ("success", "failed")
            and r
        ),
        60,
        "the run",
    )
    assert done.state.value == "success"
    tis = TaskInstanceApi(api)
    page = tis.get_mapped_task_instances("mapped_e2e", run.dag_run_id, "weather", limit=2)
    assert page.total_entries == 3
    assert [(t.map_index, t.rendered_map_index) for t in page.task_instances] == [
        (0, "Lisbon"),
        (1, "Oslo"),
    ]
    last = tis.get_mapped_task_instances(
        "mapped_e2e", run.dag_run_id, "weather", order_by=["-map_index"], limit=1
    )
    assert last.task_instances[0].map_index == 2
    one = tis.get_mapped_task_instance("mapped_e2e", run.dag_run_id, "weather", 1)
    assert (one.map_index, one.state.value, one.rendered_map_index) == (1, "success", "Oslo")
    tries = tis.get_mapped_task_instance_tries("mapped_e2e", run.dag_run_id, "weather", 2)
    assert [t.try_number for t in tries.task_instances] == [1]
    with pytest.raises(NotFoundException):
        tis.get_mapped_task_instances("mapped_e2e", run.dag_run_id, "report")
