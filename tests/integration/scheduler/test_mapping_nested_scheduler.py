"""A task mapped again inside a mapped task group, through the real scheduler (local executor)
on SQLite and PostgreSQL: G * n instances in group-major order, per-group-instance trigger
rules (the last check before queueing included), the in-group and outside reduces."""

from __future__ import annotations

import pytest

from tradewind.services import runs as run_service
from tradewind.services.xcom import get_xcom

from .conftest import BOTH_DATABASES, Home
from .test_scheduler_runs import _finished, _trigger

pytestmark = pytest.mark.slow

NESTED_DAG = """
from datetime import datetime
from tradewind import DAG, task
from tradewind.decorators import task_group

with DAG("nested", schedule=None, start_date=datetime(2026, 1, 1)) as dag:

    @task
    def files():
        return ["a", "b", "c"]

    @task
    def parts():
        return [1, 2]

    @task
    def upper(name):
        return name.upper()

    @task(retries=0)
    def piece(name, part, prefix):
        if (name, part) == ("b", 2):
            raise ValueError("b:2 is broken")
        return f"{prefix}{name}{part}"

    @task
    def joined(values):
        return "+".join(values)

    @task(trigger_rule="all_done")
    def summary(values):
        return list(values)

    all_parts = parts()

    @task_group
    def per_file(name):
        return joined(piece.partial(name=name, prefix=upper(name)).expand(part=all_parts))

    summary(per_file.expand(name=files()))
"""


@BOTH_DATABASES
def test_nested_mapping_runs_per_group_instance_on_the_scheduler(home: Home) -> None:
    home.write_dag("nested.py", NESTED_DAG)
    home.start_scheduler()
    run_id = _trigger(home, "nested")
    runs = home.wait_for(lambda: _finished(home, "nested"), 90, "the nested run")
    assert runs[0].state == "success", home.scheduler_log()[-3000:]
    with home.env.db.session(readonly=True) as s:
        tis = {
            (t.task_id, t.map_index): t.state for t in run_service.task_states(s, "nested", run_id)
        }

        def value(task_id: str, map_index: int = -1) -> object:
            found, v = get_xcom(
                s, dag_id="nested", run_id=run_id, task_id=task_id, key="return_value",
                map_index=map_index,
            )  # fmt: skip
            return v if found else None

        pieces = [value("per_file.piece", m) for m in range(6)]
        joined = [value("per_file.joined", g) for g in range(3)]
        summary = value("summary")
    assert {m: tis[("per_file.piece", m)] for m in range(6)} == {
        0: "success", 1: "success", 2: "success", 3: "failed", 4: "success", 5: "success"
    }  # fmt: skip
    assert ("per_file.piece", -1) not in tis
    assert pieces == ["Aa1", "Aa2", "Bb1", None, "Cc1", "Cc2"]
    assert {g: tis[("per_file.joined", g)] for g in range(3)} == {
        0: "success", 1: "upstream_failed", 2: "success"
    }  # fmt: skip
    assert joined == ["Aa1+Aa2", None, "Cc1+Cc2"]
    assert summary == ["Aa1+Aa2", "Cc1+Cc2"]
