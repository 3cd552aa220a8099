"""``total_entries`` of an unfiltered list of a big PostgreSQL table is the planner's row
count (docs/api-compat.md): never below what the page proves, exact on the page that ends
the list and for any filtered list, and offset paging still reaches every row once.

"Big" is shrunk to a few rows here (``ESTIMATE_ABOVE``); the planner's count is made
visibly stale by deleting rows after ``ANALYZE``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, text, update
from tests.integration.api.conftest import Api

from tradewind.metastore.tables import TaskInstance, Variable
from tradewind.services.queries import paging

pytestmark = pytest.mark.postgres

TIS = "/api/v2/dags/~/dagRuns/~/taskInstances"


def _analyze(api: Api, table: str) -> None:
    with api.env.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"ANALYZE {table}"))


def _variables(api: Api, path: str) -> tuple[list[str], int]:
    answer = api.get(path)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return [v["key"] for v in body["variables"]], body["total_entries"]


def _stale_variables(api: Api) -> list[str]:
    """20 variables analyzed, then 5 deleted: the planner still counts 20."""
    for i in range(20):
        answer = api.post("/api/v2/variables", json={"key": f"v{i:02d}", "value": "x"})
        assert answer.status_code == 201, answer.text
    _analyze(api, "variable")
    with api.env.db.session() as s:
        s.execute(delete(Variable).where(Variable.key.in_([f"v{i:02d}" for i in range(15, 20)])))
    return [f"v{i:02d}" for i in range(15)]


def test_small_tables_count_exactly(pg_api: Api) -> None:
    left = _stale_variables(pg_api)
    assert _variables(pg_api, "/api/v2/variables?limit=10") == (left[:10], 15)


def test_unfiltered_list_of_a_big_table_reports_the_estimate(
    pg_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paging, "ESTIMATE_ABOVE", 5)
    left = _stale_variables(pg_api)

    assert _variables(pg_api, "/api/v2/variables?limit=10&order_by=key") == (left[:10], 20)
    # A filter counts exactly; so does the page that ends the list.
    assert _variables(pg_api, "/api/v2/variables?variable_key_pattern=v1&limit=2")[1] == 5
    assert _variables(pg_api, "/api/v2/variables?limit=10&offset=10&order_by=key") == (
        left[10:],
        15,
    )
    # Past the end, the total is counted.
    assert _variables(pg_api, "/api/v2/variables?limit=10&offset=40") == ([], 15)

    # A client paging while offset < total_entries reads each row once, the estimate low.
    with pg_api.env.db.session() as s:
        s.execute(
            Variable.__table__.insert(),
            [{"key": f"w{i:02d}", "val": "y", "is_encrypted": False} for i in range(30)],
        )
    seen: list[str] = []
    offset, total = 0, 1
    while offset < total:
        keys, total = _variables(pg_api, f"/api/v2/variables?limit=7&offset={offset}&order_by=key")
        seen += keys
        offset += 7
    assert seen == sorted(left + [f"w{i:02d}" for i in range(30)])
    assert total == 45


def test_offset_pages_of_task_instances_add_up_under_the_estimate(
    pg_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paging, "ESTIMATE_ABOVE", 1)
    api = pg_api
    for day in (1, 2, 3):
        answer = api.post(
            "/api/v2/dags/etl/dagRuns",
            json={"logical_date": f"2026-02-0{day}T00:00:00Z", "dag_run_id": f"d{day}"},
        )
        assert answer.status_code == 200, answer.text
    t0 = datetime(2026, 2, 5, tzinfo=UTC)
    with api.env.db.session() as s:
        s.execute(
            update(TaskInstance)
            .where(TaskInstance.run_id.in_(["d1", "d2"]))
            .values(start_date=t0 + timedelta(minutes=1))
        )
    _analyze(api, "task_instance")
    with api.env.db.session() as s:
        s.execute(
            delete(TaskInstance).where(TaskInstance.run_id == "d3", TaskInstance.task_id == "load")
        )

    def keys(query: str) -> tuple[list[tuple[str, str]], int]:
        answer = api.get(f"{TIS}?{query}")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        tis = body["task_instances"]
        return [(t["dag_run_id"], t["task_id"]) for t in tis], body["total_entries"]

    whole, total = keys("order_by=-start_date&limit=50")
    assert len(whole) == 8 and total == 8  # one page: exact
    assert [run for run, _ in whole[6:]] == ["d3", "d3"]  # unstarted last
    for size in (1, 3, 5):
        first, estimate = keys(f"order_by=-start_date&limit={size}")
        assert first == whole[:size] and estimate == 9  # the planner still counts the deleted TI
        pages = [
            keys(f"order_by=-start_date&limit={size}&offset={o}")[0] for o in range(0, 8, size)
        ]
        assert [k for page in pages for k in page] == whole, size
