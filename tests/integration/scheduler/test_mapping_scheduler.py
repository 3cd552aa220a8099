"""Mapped tasks through the real scheduler (local executor) on SQLite and PostgreSQL:
expansion, retries of one instance, max_active_tis_per_dagrun, the reduce, and a clear that
re-expands to a different count."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tradewind.services import runs as run_service
from tradewind.services.xcom import get_xcom

from .conftest import BOTH_DATABASES, Home
from .test_scheduler_runs import _finished, _trigger

pytestmark = pytest.mark.slow

MAPPED_DAG = """
import json, os, time
from datetime import datetime, timedelta
from tradewind import DAG, task

SCRATCH = os.environ["TW_SCRATCH"]

with DAG("mapped", schedule=None, start_date=datetime(2026, 1, 1)) as dag:

    @task
    def items():
        with open(os.path.join(SCRATCH, "count")) as f:
            return list(range(int(f.read())))

    @task(retries=1, retry_delay=timedelta(seconds=0), max_active_tis_per_dagrun=2,
          map_index_template="item {{ task.op_kwargs['x'] }}")
    def work(x):
        t0 = time.time()
        flag = os.path.join(SCRATCH, f"failed-{x}")
        if x == 1 and not os.path.exists(flag):
            open(flag, "w").close()
            raise RuntimeError("first try of item 1 fails")
        time.sleep(0.2)
        with open(os.path.join(SCRATCH, "spans"), "a") as f:
            f.write(json.dumps([t0, time.time()]) + "\\n")
        return x * 10

    @task
    def total(values):
        return sum(values)

    total(work.expand(x=items()))
"""


def _tis(home: Home, run_id: str) -> dict[tuple[str, int], Any]:
    with home.env.db.session(readonly=True) as s:
        return {(t.task_id, t.map_index): t for t in run_service.task_states(s, "mapped", run_id)}


def _total(home: Home, run_id: str) -> Any:
    with home.env.db.session(readonly=True) as s:
        return get_xcom(s, dag_id="mapped", run_id=run_id, task_id="total", key="return_value")


def _overlaps(spans: list[list[float]]) -> int:
    """The most spans open at one moment."""
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


@BOTH_DATABASES
def test_mapped_run_retries_one_instance_and_reduces(home: Home) -> None:
    (home.scratch / "count").write_text("5")
    home.write_dag("mapped.py", MAPPED_DAG)
    home.start_scheduler()
    run_id = _trigger(home, "mapped")
    runs = home.wait_for(lambda: _finished(home, "mapped"), 90, "the mapped run")
    assert runs[0].state == "success", home.scheduler_log()[-3000:]
    tis = _tis(home, run_id)
    work = {i: tis[("work", i)] for i in range(5)}
    assert {i: t.state for i, t in work.items()} == dict.fromkeys(range(5), "success")
    assert {i: t.try_number for i, t in work.items()} == {0: 1, 1: 2, 2: 1, 3: 1, 4: 1}
    assert ("work", -1) not in tis
    assert [work[i].rendered_map_index for i in range(5)] == [f"item {i}" for i in range(5)]
    assert _total(home, run_id) == (True, 100)
    spans = [json.loads(x) for x in (home.scratch / "spans").read_text().splitlines()]
    assert len(spans) == 5
    assert _overlaps(spans) <= 2, "more than max_active_tis_per_dagrun=2 ran at once"


def _clear(home: Home, run_id: str, task_ids: list[str], **kw: Any) -> None:
    from tradewind.services.task_instances import clear_task_instances

    with home.env.db.session() as s:
        clear_task_instances(
            s, "mapped", run_id=run_id, task_ids=task_ids, now=home.env.now(), **kw
        )
    home.env.wake()


def _run_state(home: Home, run_id: str) -> str | None:
    with home.env.db.session(readonly=True) as s:
        state = run_service.get_run(s, "mapped", run_id).state
    return state if state in ("success", "failed") else None


@BOTH_DATABASES
def test_clear_re_expands_to_the_new_count_and_one_instance_clears_alone(home: Home) -> None:
    (home.scratch / "count").write_text("4")
    (home.scratch / "failed-1").write_text("")  # no failing first try here
    home.write_dag("mapped.py", MAPPED_DAG)
    home.start_scheduler()
    run_id = _trigger(home, "mapped")
    home.wait_for(lambda: _run_state(home, run_id), 90, "the first run")
    assert _total(home, run_id) == (True, 60)

    (home.scratch / "count").write_text("2")  # fewer: the extra instances are removed
    _clear(home, run_id, ["items"], downstream=True)
    home.wait_for(lambda: _run_state(home, run_id), 90, "the run after the first clear")
    states = {i: t.state for (tid, i), t in _tis(home, run_id).items() if tid == "work"}
    assert states == {0: "success", 1: "success", 2: "removed", 3: "removed"}
    assert _total(home, run_id) == (True, 10)

    (home.scratch / "count").write_text("5")  # more: removed ones come back, new ones added
    _clear(home, run_id, ["items"], downstream=True)
    home.wait_for(lambda: _run_state(home, run_id), 90, "the run after the second clear")
    tis = _tis(home, run_id)
    assert {i: t.state for (tid, i), t in tis.items() if tid == "work"} == dict.fromkeys(
        range(5), "success"
    )
    assert _total(home, run_id) == (True, 100)
    tries_before = {i: t.try_number for (tid, i), t in tis.items() if tid == "work"}

    _clear(home, run_id, ["work"], map_indexes=[3])  # one instance only
    home.wait_for(lambda: _run_state(home, run_id), 90, "the run after clearing index 3")
    after = {i: t.try_number for (tid, i), t in _tis(home, run_id).items() if tid == "work"}
    assert after == {**tries_before, 3: tries_before[3] + 1}
    assert _tis(home, run_id)[("work", 3)].state == "success"
