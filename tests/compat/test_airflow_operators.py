"""Airflow's branching operators, sensors, labels and context helpers, from Airflow paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.compat.conftest import load_dags, run, states, xcom

BRANCHES = """
import datetime
import pendulum
from airflow.models.dag import DAG
from airflow.operators.datetime import BranchDateTimeOperator
from airflow.operators.empty import EmptyOperator
from airflow.operators.latest_only import LatestOnlyOperator
from airflow.operators.weekday import BranchDayOfWeekOperator
from airflow.sensors.bash import BashSensor
from airflow.sensors.weekday import DayOfWeekSensor
from airflow.utils.edgemodifier import Label
from airflow.utils.weekday import WeekDay

with DAG("branches", schedule="@daily", start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as dag:
    weekday = BranchDayOfWeekOperator(
        task_id="weekday",
        follow_task_ids_if_true="monday",
        follow_task_ids_if_false="other_day",
        week_day={WeekDay.MONDAY},
        use_task_logical_date=True,
    )
    monday, other_day = EmptyOperator(task_id="monday"), EmptyOperator(task_id="other_day")
    weekday >> Label("Monday") >> monday
    weekday >> Label("any other day") >> other_day
    window = BranchDateTimeOperator(
        task_id="window",
        follow_task_ids_if_true="in_window",
        follow_task_ids_if_false="outside",
        target_lower=datetime.time(0, 0),
        target_upper=datetime.time(6, 0),
        use_task_logical_date=True,
    )
    window >> [EmptyOperator(task_id="in_window"), EmptyOperator(task_id="outside")]
    latest = LatestOnlyOperator(task_id="latest")
    latest >> EmptyOperator(task_id="only_latest")
    DayOfWeekSensor(task_id="is_monday", week_day="Monday", use_task_logical_date=True,
                    poke_interval=0.1, timeout=5)
    BashSensor(task_id="bash_ok", bash_command="test -n \\"$AIRFLOW_CTX_DAG_ID\\"",
               poke_interval=0.1, timeout=5)
"""


def test_branching_operators_and_sensors_at_airflow_paths(env: Any, tmp_path: Path) -> None:
    dag = load_dags(tmp_path, "branches.py", BRANCHES)["branches"]
    assert dag.get_edge_info("weekday", "monday") == {"label": "Monday"}
    result = run(dag, env)  # 2026-01-05, a Monday, 00:00 UTC
    assert result.state == "success"
    got = states(result)
    assert got["monday"] == "success" and got["other_day"] == "skipped"
    assert got["in_window"] == "success" and got["outside"] == "skipped"
    # a scheduled run of 2026-01-05 is long past: not the latest; dags test's run is manual
    assert got["only_latest"] == "success"
    assert got["is_monday"] == "success" and got["bash_ok"] == "success"


def test_labels_are_stored_with_the_serialized_dag(tmp_path: Path) -> None:
    from tradewind.sdk.serialization import serialize_dag

    dag = load_dags(tmp_path, "branches.py", BRANCHES)["branches"]
    data = serialize_dag(dag)
    assert data["edge_info"]["weekday"] == {
        "monday": {"label": "Monday"},
        "other_day": {"label": "any other day"},
    }


CONTEXT = """
import pendulum
from airflow.decorators import dag, task
from airflow.operators.bash import BashOperator
from airflow.operators.python import get_current_context
from airflow.models import Variable

@dag(schedule="@daily", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False,
     params={"choice": {1: "one", "a": "letter"}})
def context_keys():
    @task
    def keys():
        ctx = get_current_context()
        rendered = ctx["task"].render_template("{{ ds }}/{{ params.choice }}", ctx)
        return {
            "key": ctx["task_instance_key_str"],
            "next_ds": ctx["next_ds"],
            "prev_ds": ctx["prev_ds"],
            "rendered": rendered,
            "var": Variable.get("missing", default_var="fallback"),
        }

    keys() >> BashOperator(task_id="echo", bash_command="echo {{ task_instance_key_str }}")

context_keys()
"""


def test_get_current_context_and_airflow_2_context_keys(env: Any, tmp_path: Path) -> None:
    dag = load_dags(tmp_path, "context_keys.py", CONTEXT)["context_keys"]
    result = run(dag, env)
    assert result.state == "success", states(result)
    value = xcom(env, result, "keys")
    assert value["key"] == "context_keys__keys__20260105"
    assert value["rendered"].startswith("2026-01-05/")
    assert value["var"] == "fallback"
    assert xcom(env, result, "echo") == "context_keys__echo__20260105"


def test_get_current_context_outside_a_task_says_so() -> None:
    import pytest

    from tradewind.errors import TradewindError
    from tradewind.sdk.execution_context import get_current_context

    with pytest.raises(TradewindError, match="outside a running task"):
        get_current_context()


def test_version_hash_accepts_params_with_mixed_key_types(tmp_path: Path) -> None:
    from tradewind.sdk.serialization import serialize_dag, version_hash

    dag = load_dags(tmp_path, "context_keys.py", CONTEXT)["context_keys"]
    data = serialize_dag(dag)
    assert version_hash(data) == version_hash(serialize_dag(dag))


DEFERRED = """
import datetime
import pendulum
from airflow.models.dag import DAG
from airflow.operators.empty import EmptyOperator
from airflow.sensors.time_delta import TimeDeltaSensorAsync

with DAG("deferred", schedule=None, start_date=pendulum.datetime(2021, 1, 1, tz="UTC")):
    wait = TimeDeltaSensorAsync(task_id="wait", delta=datetime.timedelta(seconds=1))
    wait >> EmptyOperator(task_id="finish")
"""


def test_dags_test_runs_deferred_triggers_inline(env: Any, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    dag = load_dags(tmp_path, "deferred.py", DEFERRED)["deferred"]
    result = run(dag, env, logical_date=datetime.now(UTC))  # no triggerer process runs
    assert states(result) == {"wait": "success", "finish": "success"}


CROSS = """
import pendulum
from airflow.models.dag import DAG
from airflow.operators.empty import EmptyOperator
from airflow.sensors.external_task import ExternalTaskSensor
from airflow.utils.task_group import TaskGroup

start = pendulum.datetime(2026, 1, 1, tz="UTC")
with DAG("parent", schedule=None, start_date=start):
    with TaskGroup("load"):
        EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")

with DAG("child", schedule=None, start_date=start):
    ExternalTaskSensor(
        task_id="wait_for_load",
        external_dag_id="parent",
        external_task_group_id="load",
        poke_interval=0.1,
        timeout=10,
        mode="reschedule",
    )
"""


def test_external_task_sensor_waits_for_a_task_group(env: Any, tmp_path: Path) -> None:
    dags = load_dags(tmp_path, "cross.py", CROSS)
    assert run(dags["parent"], env).state == "success"
    assert states(run(dags["child"], env)) == {"wait_for_load": "success"}


@pytest.mark.parametrize(
    ("uri", "fields"),
    [
        (  # Airflow's documented generic form
            "my-conn-type://login:password@host:5432/schema?param1=val1&param2=val2",
            ("my_conn_type", "host", "schema", "login", "password", 5432),
        ),
        (
            "postgresql://u:p%40ss@db.example.com:5432/orders",
            ("postgres", "db.example.com", "orders", "u", "p@ss", 5432),
        ),
        (
            "my-conn-type://login@%2Ftmp%2Fsocket/db",
            ("my_conn_type", "/tmp/socket", "db", "login", None, None),
        ),
        (
            "http://https%3A%2F%2Fexample.com:443/api",
            ("http", "https://example.com", "api", None, None, 443),
        ),
        (
            "sqlite://%2Ftmp%2Fdata.db",
            ("sqlite", "/tmp/data.db", None, None, None, None),
        ),  # Airflow's
        ("sqlite:////tmp/data.db", ("sqlite", "/tmp/data.db", None, None, None, None)),
    ],
)
def test_connection_uris_parse_as_airflow_documents(uri: str, fields: tuple) -> None:
    from airflow.models import Connection

    c = Connection.from_uri("x", uri)
    assert (c.conn_type, c.host, c.schema, c.login, c.password, c.port) == fields


def test_connection_uri_extras_as_airflow() -> None:
    from airflow.models import Connection

    q = Connection.from_uri(
        "x", "mysql://me:pw@myhost.com?this_param=some+val&that_param=other+val%2A"
    )
    assert q.extra_dejson == {"this_param": "some val", "that_param": "other val*"}
    j = Connection.from_uri(
        "x", "google-cloud-platform://?__extra__=%7B%22project%22%3A+%22p%22%7D"
    )
    assert j.extra_dejson == {"project": "p"}
