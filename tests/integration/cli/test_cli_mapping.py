"""Mapped tasks from the CLI: ``tasks list`` marks them, ``states-for-dag-run`` lists every map
index, ``tasks test --map-index``, ``tasks clear --map-index``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.cli.dag_sources import write_dag

RUN = "manual__2026-01-05T00:00:00+00:00"
MAPPED = """
from datetime import datetime, timezone

from tradewind import DAG, task
from tradewind.operators.bash import BashOperator

with DAG("fan", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc)) as dag:
    @task
    def items():
        return ["a", "b", "c"]

    @task
    def shout(x):
        print(f"item is {x}")
        return x.upper()

    @task
    def join(values):
        return "".join(values)

    join(shout.expand(x=items()))
    BashOperator.partial(task_id="echo").expand(bash_command=["echo one", "echo two"])
"""


def _states(cli_runner) -> list[tuple[str, int, str, int]]:
    rows = json.loads(cli_runner("tasks", "states-for-dag-run", "fan", RUN, "-o", "json").stdout)
    return sorted((r["task_id"], r["map_index"], r["state"], r["try_number"]) for r in rows)


def test_mapped_tasks_in_list_states_test_and_clear(cli_runner, tw_home: Path) -> None:
    write_dag(tw_home / "dags", "fan.py", MAPPED)
    listed = json.loads(cli_runner("tasks", "list", "fan", "-o", "json").stdout)
    assert {r["task_id"]: r["mapped"] for r in listed} == {
        "items": False,
        "shout": True,
        "join": False,
        "echo": True,
    }

    result = cli_runner("dags", "test", "fan", "2026-01-05", "-q")
    assert "map_index" in result.stdout and "ended success" in result.stdout
    assert _states(cli_runner) == [
        ("echo", 0, "success", 1),
        ("echo", 1, "success", 1),
        ("items", -1, "success", 1),
        ("join", -1, "success", 1),
        ("shout", 0, "success", 1),
        ("shout", 1, "success", 1),
        ("shout", 2, "success", 1),
    ]

    tested = cli_runner("tasks", "test", "fan", "shout", "2026-01-05", "--map-index", "1")
    assert "fan.shout[1]" in tested.stdout and "ended success" in tested.stdout
    missing = cli_runner("tasks", "test", "fan", "shout", "2026-01-05", expect=1)
    assert "is mapped: give the instance with --map-index N" in missing.stdout + missing.stderr

    cleared = cli_runner(
        "tasks", "clear", "fan", "-t", "^shout$", "-r", RUN, "--map-index", "2", "-y"
    )
    assert "Cleared 1 task instances." in cleared.stdout
    states = _states(cli_runner)
    assert ("shout", 2, None, 1) in states and ("shout", 1, "success", 1) in states

    log = cli_runner("tasks", "logs", "fan", "shout", RUN, "--map-index", "1").stdout
    assert "item is b" in log
