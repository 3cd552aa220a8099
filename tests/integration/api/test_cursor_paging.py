"""Cursor (keyset) paging of DAG runs and task instances, as Airflow 3.3: ``cursor=""`` for
the first page, then ``next_cursor``; rows inserted between pages neither repeat nor hide
rows, where offset paging would repeat one."""

from __future__ import annotations

import pytest
from tests.integration.api.conftest import Api, official_client

client = pytest.importorskip("airflow_client.client")
from airflow_client.client.api import DagRunApi, TaskInstanceApi  # noqa: E402


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_api(request: pytest.FixtureRequest) -> Api:
    """The API on SQLite, then on PostgreSQL (NULL ordering differs between the two)."""
    return request.getfixturevalue("api" if request.param == "sqlite" else "pg_api")


@pytest.fixture
def db_client(db_api: Api) -> object:
    with official_client(db_api) as api_client:
        yield api_client


def _trigger(api: Api, day: int, hour: int = 0) -> str:
    run_id = f"d{day:02d}h{hour:02d}"
    answer = api.post(
        "/api/v2/dags/etl/dagRuns",
        json={"logical_date": f"2026-02-{day:02d}T{hour:02d}:00:00Z", "dag_run_id": run_id},
    )
    assert answer.status_code == 200, answer.text
    return run_id


def test_run_pages_are_stable_under_concurrent_inserts(db_api: Api, db_client: object) -> None:
    api, airflow_client = db_api, db_client
    for day in range(1, 8):
        _trigger(api, day)
    runs = DagRunApi(airflow_client)
    first = runs.get_dag_runs("etl", cursor="", limit=3, order_by=["-logical_date"])
    assert [r.dag_run_id for r in first.dag_runs] == ["d07h00", "d06h00", "d05h00"]
    assert first.previous_cursor is None and first.next_cursor
    assert first.total_entries == 7 and first.total_entries_limit is not None
    _trigger(api, 8)  # sorts before the cursor: must not push d05 onto the next page
    _trigger(api, 4, 12)  # sorts after it: must show up in a later page
    seen = [r.dag_run_id for r in first.dag_runs]
    cursor = first.next_cursor
    pages = 0
    while cursor:
        page = runs.get_dag_runs("etl", cursor=cursor, limit=3, order_by=["-logical_date"])
        seen += [r.dag_run_id for r in page.dag_runs]
        cursor, pages = page.next_cursor, pages + 1
        assert pages < 10
    assert seen == ["d07h00", "d06h00", "d05h00", "d04h12", "d04h00", "d03h00", "d02h00", "d01h00"]

    second = runs.get_dag_runs("etl", cursor=first.next_cursor, limit=3, order_by=["-logical_date"])
    back = runs.get_dag_runs(
        "etl", cursor=second.previous_cursor, limit=3, order_by=["-logical_date"]
    )
    assert [r.dag_run_id for r in back.dag_runs] == ["d07h00", "d06h00", "d05h00"]
    assert back.previous_cursor is not None  # d08 came in before it


def test_a_cursor_is_checked(api: Api) -> None:
    _trigger(api, 1)
    _trigger(api, 2)
    first = api.get("/api/v2/dags/etl/dagRuns", params={"cursor": "", "limit": 1}).json()
    other_order = api.get(
        "/api/v2/dags/etl/dagRuns",
        params={"cursor": first["next_cursor"], "limit": 1, "order_by": "-id"},
    )
    assert other_order.status_code == 400 and "order_by" in other_order.json()["detail"]
    junk = api.get("/api/v2/dags/etl/dagRuns", params={"cursor": "%%%not-a-cursor"})
    assert junk.status_code == 400
    offset = api.get("/api/v2/dags/etl/dagRuns", params={"limit": 1}).json()
    assert offset["next_cursor"] is None and offset["total_entries"] == 2


def test_task_instance_pages_cover_every_row_once_with_nulls_in_the_order(
    db_api: Api, db_client: object
) -> None:
    api, airflow_client = db_api, db_client
    for day in range(1, 5):
        _trigger(api, day)
    for run_id in ("d01h00", "d03h00"):
        api.patch(f"/api/v2/dags/etl/dagRuns/{run_id}/taskInstances/extract",
                  json={"new_state": "success"})  # fmt: skip
    tis = TaskInstanceApi(airflow_client)
    everything = tis.get_task_instances("~", "~", limit=100)
    expected = {(t.dag_run_id, t.task_id) for t in everything.task_instances}
    assert len(expected) == 12
    seen: list[tuple[str, str]] = []
    states: list[object] = []
    cursor = ""
    while cursor is not None:
        page = tis.get_task_instances("~", "~", cursor=cursor, limit=5, order_by=["state"])
        seen += [(t.dag_run_id, t.task_id) for t in page.task_instances]
        states += [t.state for t in page.task_instances]
        cursor = page.next_cursor
        if page.task_instances and page.total_entries is not None:
            assert page.total_entries == 12
    assert len(seen) == 12 and set(seen) == expected
    assert [s.value for s in states[:2]] == ["success", "success"]  # NULLs sort last going up
    assert all(s is None for s in states[2:])


def test_default_order_pages_by_row_value_and_back(db_api: Api, db_client: object) -> None:
    for day in range(1, 4):
        _trigger(db_api, day)
    tis = TaskInstanceApi(db_client)
    seen, cursor, pages = [], "", []
    while cursor is not None:
        page = tis.get_task_instances("~", "~", cursor=cursor, limit=4)
        pages.append(page)
        seen += [(t.dag_run_id, t.task_id) for t in page.task_instances]
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 9 and len(pages) == 3
    back = tis.get_task_instances("~", "~", cursor=pages[2].previous_cursor, limit=4)
    assert [t.id for t in back.task_instances] == [t.id for t in pages[1].task_instances]
