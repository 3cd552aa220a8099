"""The task-instance list in Airflow's order on both databases: NULLs last whichever the
direction, ``id`` breaking ties in the first term's direction, and offset pages that add up
to the whole list where a page crosses from the rows with a value to the rows without."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from tests.integration.api.conftest import Api

from tradewind.metastore.tables import TaskInstance

TIS = "/api/v2/dags/~/dagRuns/~/taskInstances"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_api(request: pytest.FixtureRequest) -> Api:
    """The API on SQLite, then on PostgreSQL (their own NULL orders differ)."""
    return request.getfixturevalue("api" if request.param == "sqlite" else "pg_api")


def _runs(api: Api) -> None:
    """etl runs on Feb 1 and 2 (3 task instances each), a report run with no logical date."""
    for day in (2, 1):
        answer = api.post(
            "/api/v2/dags/etl/dagRuns",
            json={"logical_date": f"2026-02-0{day}T00:00:00Z", "dag_run_id": f"d{day}"},
        )
        assert answer.status_code == 200, answer.text
    answer = api.post("/api/v2/dags/report/dagRuns", json={"logical_date": None, "dag_run_id": "r"})
    assert answer.status_code == 200, answer.text


def _start(api: Api, starts: dict[tuple[str, str], datetime]) -> None:
    with api.env.db.session() as s:
        for (run_id, task_id), when in starts.items():
            s.execute(
                update(TaskInstance)
                .where(TaskInstance.run_id == run_id, TaskInstance.task_id == task_id)
                .values(start_date=when)
            )


def _keys(api: Api, query: str) -> tuple[list[tuple[str, str]], int]:
    answer = api.get(f"{TIS}?{query}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return [(t["dag_run_id"], t["task_id"]) for t in body["task_instances"]], body["total_entries"]


def _ids(api: Api) -> dict[tuple[str, str], int]:
    with api.env.db.session(readonly=True) as s:
        return {(t.run_id, t.task_id): t.id for t in s.query(TaskInstance)}


def test_start_date_order_puts_unstarted_last_both_ways(db_api: Api) -> None:
    api = db_api
    _runs(api)
    t0 = datetime(2026, 2, 3, tzinfo=UTC)
    _start(api, {("d1", "load"): t0, ("d2", "extract"): t0 + timedelta(hours=1),
                 ("r", "only"): t0 - timedelta(hours=1)})  # fmt: skip
    ids = _ids(api)
    unstarted = sorted((k for k in ids if k not in {("d1", "load"), ("d2", "extract"),
                                                    ("r", "only")}), key=ids.__getitem__)  # fmt: skip

    up, total = _keys(api, "order_by=start_date&limit=50")
    assert total == 7
    assert up == [("r", "only"), ("d1", "load"), ("d2", "extract"), *unstarted]
    down, _ = _keys(api, "order_by=-start_date&limit=50")
    assert down == [("d2", "extract"), ("d1", "load"), ("r", "only"), *reversed(unstarted)]

    # Offset pages cross from started to unstarted rows, and start past the started ones.
    for order, whole in (("start_date", up), ("-start_date", down)):
        for size in (1, 2, 3, 4):
            pages = [
                _keys(api, f"order_by={order}&limit={size}&offset={offset}")[0]
                for offset in range(0, 8, size)
            ]
            assert [k for page in pages for k in page] == whole, (order, size)


def test_logical_date_order_walks_runs_then_their_task_instances(db_api: Api) -> None:
    api = db_api
    _runs(api)
    ids = _ids(api)
    by_id = sorted(ids, key=ids.__getitem__)
    d1 = [k for k in by_id if k[0] == "d1"]
    d2 = [k for k in by_id if k[0] == "d2"]

    up, total = _keys(api, "order_by=logical_date&limit=50")
    assert total == 7
    assert up == [*d1, *d2, ("r", "only")]  # the run without a logical date comes last
    down, _ = _keys(api, "order_by=-logical_date&limit=50")
    assert down == [*reversed(d2), *reversed(d1), ("r", "only")]
    assert _keys(api, "order_by=-logical_date&limit=2&offset=5")[0] == [d1[0], ("r", "only")]
    assert _keys(api, "order_by=-logical_date&limit=2&offset=6")[0] == [("r", "only")]

    # A filter on the run still counts exactly.
    assert _keys(api, "order_by=-logical_date&logical_date_gte=2026-02-02T00:00:00Z")[1] == 3


def test_default_order_is_map_index_then_id(db_api: Api) -> None:
    api = db_api
    _runs(api)
    ids = _ids(api)
    listed, total = _keys(api, "limit=50")
    assert total == 7 and listed == sorted(ids, key=ids.__getitem__)
    assert _keys(api, "order_by=-map_index&limit=50")[0] == sorted(ids, key=ids.__getitem__)[::-1]


def test_sqlite_statistics_make_the_logical_date_list_walk_the_runs(api: Api) -> None:
    """Without ``sqlite_stat1`` SQLite takes every table as equally big and sorts all task
    instances for ``order_by=logical_date``; the web server refreshes the statistics at start
    (``Database.refresh_statistics``), after which the runs' date index leads the plan."""
    from sqlalchemy import text

    _runs(api)
    query = (
        "EXPLAIN QUERY PLAN SELECT ti.id FROM task_instance ti JOIN dag_run dr"
        " ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id WHERE dr.logical_date IS NOT NULL"
        " ORDER BY dr.logical_date DESC, ti.id DESC LIMIT 100"
    )
    with api.env.db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS sqlite_stat1"))
    api.env.db.refresh_statistics()
    api.env.db.engine.dispose()  # a connection reads the statistics when it opens
    with api.env.db.engine.connect() as conn:
        plan = " / ".join(str(row[3]) for row in conn.execute(text(query)))
    assert plan.startswith("SEARCH dr USING INDEX ix_dag_run_logical_date_id"), plan


def test_statistics_taken_small_are_refreshed_once_the_tables_grew(api: Api) -> None:
    """Statistics taken on a young metastore (the web server's start) go stale as it grows;
    the scheduler's periodic ``refresh_statistics_if_grown`` re-analyzes once, then not again
    until the tables grow further."""
    from sqlalchemy import select, text

    _runs(api)
    api.env.db.refresh_statistics()
    assert api.env.db.refresh_statistics_if_grown() is False  # nothing grew
    with api.env.db.session() as s:
        table = TaskInstance.__table__
        row = dict(s.execute(select(table).limit(1)).mappings().one())
        row.pop("id")
        s.execute(table.insert(), [{**row, "map_index": i} for i in range(3000)])

    def analyzed() -> int:  # the task-instance count the planner works with
        with api.env.db.engine.connect() as conn:
            stats = conn.execute(text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'task_instance'"))
            return max(int(stat.split()[0]) for (stat,) in stats)

    assert analyzed() == 7
    assert api.env.db.refresh_statistics_if_grown() is True
    assert 2500 < analyzed() < 4000  # sampled (analysis_limit)
    assert api.env.db.refresh_statistics_if_grown() is False
