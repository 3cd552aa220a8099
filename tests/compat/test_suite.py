"""The compatibility suite: Airflow-style DAG files (tests/compat/dags/) run unmodified.

Each file is written for this project in Airflow 2 or Airflow 3 import style. It runs through
``tradewind dags test`` and through a real ``tradewind scheduler`` process, and both must give
the states and XComs the file gives on Airflow.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.integration.scheduler.conftest import Home, db_url, home  # noqa: F401 - fixtures

DAGS = Path(__file__).parent / "dags"
DAY = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


@dataclass
class Expected:
    file: str
    dag_id: str
    states: dict[str, str]
    xcoms: dict[str, Any]
    conf: dict[str, Any] = field(default_factory=dict)


CASES = [
    Expected(
        "airflow2_orders_etl.py",
        "airflow2_orders_etl",
        {
            "extract": "success",
            "transform": "success",
            "choose": "success",
            "big_day": "success",
            "small_day": "skipped",
            "archive": "skipped",
            "report": "success",
        },
        {
            "extract": 3,
            "transform": {"day": "2026-01-05", "total": 50.0, "count": 3},
            "big_day": "big eu 50.0",
            "report": "airflow2_orders_etl__report__20260105",
        },
    ),
    Expected(
        "airflow3_sdk_pipeline.py",
        "airflow3_sdk_pipeline",
        {
            "create_workspace": "success",
            "load": "success",
            "compute.scale": "success",
            "compute.total": "success",
            "route": "success",
            "publish": "success",
            "hold": "skipped",
            "done": "success",
            "drop_workspace": "success",
        },
        {"compute.total": 30, "route": "publish", "drop_workspace": "dropped ws-42"},
        conf={"factor": 3},
    ),
    Expected(
        "airflow2_calendar_sensors.py",
        "airflow2_calendar_sensors",
        {
            "ready": "success",
            "file_ok": "success",
            "pause": "success",
            "weekend": "success",
            "weekday_batch": "success",
            "weekend_batch": "skipped",
            "latest_only": "success",
            "notify": "success",
        },
        {"weekday_batch": "weekday 2026-01-05"},
    ),
]
IDS = [c.dag_id for c in CASES]


def _xcom(env: Any, dag_id: str, run_id: str, task_id: str) -> Any:
    from tradewind.services.xcom import get_xcom

    with env.db.session(readonly=True) as s:
        found, value = get_xcom(
            s, dag_id=dag_id, run_id=run_id, task_id=task_id, key="return_value"
        )
    assert found, f"no XCom from {task_id}"
    return value


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_dags_test_runs_the_airflow_file_unmodified(
    case: Expected, tw_home: Path, env: Any, cli_runner: Callable[..., Any]
) -> None:
    shutil.copy(DAGS / case.file, tw_home / "dags" / case.file)
    out = cli_runner(
        "dags",
        "test",
        case.dag_id,
        DAY.isoformat(),
        "-c",
        json.dumps(case.conf),
        "-q",
        "-o",
        "json",
    )
    assert {t["task_id"]: t["state"] for t in json.loads(out.stdout)} == case.states
    with env.db.session(readonly=True) as s:
        from tradewind.services import runs as run_service

        (run,) = run_service.list_runs(s, case.dag_id, limit=10)
    assert run.state == "success"
    for task_id, value in case.xcoms.items():
        assert _xcom(env, case.dag_id, run.run_id, task_id) == value
    if case.dag_id == "airflow3_sdk_pipeline":
        assert _xcom(env, case.dag_id, run.run_id, "publish") == f"{run.run_id}: 30 from api"


@pytest.mark.slow
def test_the_scheduler_runs_every_airflow_file_unmodified(home: Home) -> None:  # noqa: F811
    from tradewind.errors import NotFound
    from tradewind.services import runs as run_service
    from tradewind.services.dag_store import get_serialized_dag

    for case in CASES:
        shutil.copy(DAGS / case.file, home.dags / case.file)
    home.start_scheduler()

    def parsed() -> bool:
        try:
            with home.env.db.session(readonly=True) as s:
                for case in CASES:
                    get_serialized_dag(s, case.dag_id)
        except NotFound:
            return False
        return True

    home.wait_for(parsed, 60, "the Airflow files parsed")
    run_ids = {}
    with home.env.db.session() as s:
        for case in CASES:
            run = run_service.trigger_run(
                s, case.dag_id, now=home.env.now(), conf=case.conf, logical_date=DAY
            )
            run_ids[case.dag_id] = run.run_id
    home.env.wake()

    def ended() -> bool:
        with home.env.db.session(readonly=True) as s:
            return all(
                run_service.get_run(s, d, r).state in ("success", "failed")
                for d, r in run_ids.items()
            )

    home.wait_for(ended, 120, "the runs of the Airflow files to end")
    for case in CASES:
        rid = run_ids[case.dag_id]
        with home.env.db.session(readonly=True) as s:
            got = {t.task_id: t.state for t in run_service.task_states(s, case.dag_id, rid)}
            assert run_service.get_run(s, case.dag_id, rid).state == "success", got
        assert got == case.states
        for task_id, value in case.xcoms.items():
            assert _xcom(home.env, case.dag_id, rid, task_id) == value
