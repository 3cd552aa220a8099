"""``GET /dags?timetable_type=`` filters on Airflow's timetable class names, and the HITL
list checks its filters as Airflow does (there are no HITL details to match), both through
the official client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from tests.integration.api.conftest import Api

from tradewind.metastore.database import Database
from tradewind.services.testing import store_dag_object

client = pytest.importorskip("airflow_client.client")
from airflow_client.client.api import DAGApi, TaskInstanceApi  # noqa: E402
from airflow_client.client.exceptions import BadRequestException, NotFoundException  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=UTC)
CRON = "airflow.timetables.interval.CronDataIntervalTimetable"
NULL = "airflow.timetables.simple.NullTimetable"


def _more_dags(api: Api) -> None:
    from tradewind import DAG, Asset
    from tradewind.operators.empty import EmptyOperator
    from tradewind.sdk.asset_timetables import AssetOrTimeSchedule
    from tradewind.sdk.timetables import CronTriggerTimetable

    schedules = {
        "trigger": CronTriggerTimetable("0 6 * * *", timezone="UTC"),
        "every_hour": timedelta(hours=1),
        "once": "@once",
        "on_asset": [Asset("s3://bucket/in")],
        "asset_or_time": AssetOrTimeSchedule(
            timetable=CronTriggerTimetable("0 6 * * *", timezone="UTC"),
            assets=[Asset("s3://bucket/other")],
        ),
    }
    for dag_id, schedule in schedules.items():
        with DAG(dag_id, schedule=schedule, start_date=START) as dag:
            EmptyOperator(task_id="t")
        dag.fileloc = str(api.env.settings.dags_folder / f"{dag_id}.py")
        store_dag_object(api.env, dag)


def test_timetable_type_filters_dags_by_airflow_class(api: Api, airflow_client: object) -> None:
    _more_dags(api)
    dags = DAGApi(airflow_client)

    def ids(*types: str) -> list[str]:
        return [d.dag_id for d in dags.get_dags(timetable_type=list(types)).dags]

    assert ids(CRON) == ["etl"]
    assert ids(NULL) == ["report"]
    assert ids("airflow.timetables.trigger.CronTriggerTimetable") == ["trigger"]
    assert ids("airflow.timetables.interval.DeltaDataIntervalTimetable") == ["every_hour"]
    assert ids("airflow.timetables.simple.OnceTimetable") == ["once"]
    assert ids("airflow.timetables.simple.AssetTriggeredTimetable") == ["on_asset"]
    assert ids("airflow.timetables.assets.AssetOrTimeSchedule") == ["asset_or_time"]
    assert ids(CRON, NULL) == ["etl", "report"]
    assert ids("CronDataIntervalTimetable") == []  # the full class path, as Airflow stores it
    assert len(ids()) == 7  # no filter


def test_migration_names_the_timetables_of_stored_dags(tmp_path: Path) -> None:
    """0007 fills ``dag.timetable_type`` from each DAG's latest JSON: DAGs are re-parsed only
    when their file changes, so an upgraded metastore must not wait for that."""
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    command.upgrade(db._alembic_config(), "0006")
    data = '{"dag_id": "d", "timetable": {"__type": "delta", "microseconds": 3600000000}}'
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO dag (dag_id, is_paused, is_active, fileloc, relative_fileloc, owners,"
                " tags, max_active_runs, max_active_tasks, max_consecutive_failed_dag_runs,"
                " has_import_errors, has_task_concurrency_limits, latest_version)"
                " VALUES ('d', 1, 1, '', '', '', '[]', 1, 1, 0, 0, 0, 'v1')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO serialized_dag (dag_id, version_hash, version_number, data,"
                " fileloc, created_at) VALUES ('d', 'v1', 1, :data, '', '2026-01-01')"
            ),
            {"data": data},
        )
    db.migrate()
    with db.engine.connect() as conn:
        named = conn.execute(sa.text("SELECT timetable_type FROM dag")).scalar()
    db.dispose()
    assert named == "airflow.timetables.interval.DeltaDataIntervalTimetable"


def _run(api: Api) -> None:
    answer = api.post("/api/v2/dags/report/dagRuns", json={"logical_date": None, "dag_run_id": "r"})
    assert answer.status_code == 200, answer.text


def test_hitl_list_checks_every_filter_and_matches_nothing(
    api: Api, airflow_client: object
) -> None:
    _run(api)
    tis = TaskInstanceApi(airflow_client)
    listed = tis.get_hitl_details(
        "~", "~", dag_id_pattern="rep", task_id="only", map_index=-1, state=["running"],
        response_received=False, responded_by_user_id=["1"], responded_by_user_name=["admin"],
        subject_search="approve", body_search="x", order_by=["-created_at", "task_instance_state"],
        created_at_gte=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    assert listed.hitl_details == [] and listed.total_entries == 0
    with pytest.raises(BadRequestException, match="Ordering with 'nope' is disallowed"):
        tis.get_hitl_details("report", "r", order_by=["nope"])
    bad_state = api.get("/api/v2/dags/report/dagRuns/r/hitlDetails", params={"state": "stuck"})
    assert bad_state.status_code == 422 and "Invalid value for state" in bad_state.text
    for name, value in (("response_received", "perhaps"), ("created_at_lt", "yesterday"),
                        ("map_index", "first")):  # fmt: skip
        answer = api.get("/api/v2/dags/report/dagRuns/r/hitlDetails", params={name: value})
        assert answer.status_code == 422, (name, answer.text)


def test_one_hitl_detail_is_airflows_404(api: Api, airflow_client: object) -> None:
    _run(api)
    tis = TaskInstanceApi(airflow_client)
    with pytest.raises(NotFoundException, match="Human-in-the-loop detail does not exist"):
        tis.get_hitl_detail("report", "r", "only", -1)
    with pytest.raises(NotFoundException, match="was not found"):
        tis.get_hitl_detail("report", "r", "nope", -1)
    with pytest.raises(NotFoundException, match="Human-in-the-loop detail does not exist"):
        tis.get_hitl_detail_try_detail("report", "r", "only", -1, 0)
    with pytest.raises(NotFoundException, match="was not found"):
        tis.get_hitl_detail_try_detail("report", "r", "only", -1, 7)
    path = "/api/v2/dags/report/dagRuns/r/taskInstances/only/-1/hitlDetails"
    answer = api.patch(path, json={"chosen_options": ["yes"]})
    assert answer.status_code == 404 and "Human-in-the-loop" in answer.text
    assert api.patch(path, json={"chosen_options": []}).status_code == 422  # body checked first
    assert api.patch(path, json={"chosen_options": ["yes"]}, user="viewer").status_code == 403
