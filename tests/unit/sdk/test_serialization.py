"""DAG -> JSON -> SerializedDag keeps what the scheduler and web server need; hashes are stable."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tradewind import DAG, Param, TaskGroup, task
from tradewind.operators.bash import BashOperator
from tradewind.operators.empty import EmptyOperator
from tradewind.sdk.serialization import SerializedDag, serialize_dag, version_hash

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def build(extra_task: bool = False, retries: int = 1) -> DAG:
    @task
    def produce() -> int:
        return 1

    with DAG(
        "ser",
        schedule="0 6 * * *",
        start_date=START,
        params={"n": Param(2, type="integer", minimum=1), "label": "x"},
        tags=["b", "a"],
        default_args={"retries": retries, "retry_delay": timedelta(seconds=30)},
        max_active_runs=3,
        description="demo",
    ) as d:
        start = EmptyOperator(task_id="start", priority_weight=2, pool="small", pool_slots=2)
        with TaskGroup("grp"):
            mid = BashOperator(
                task_id="mid",
                bash_command="echo hi",
                trigger_rule="none_failed_min_one_success",
                execution_timeout=timedelta(minutes=5),
                queue="q2",
            )
        absolute = EmptyOperator(task_id="abs", priority_weight=7, weight_rule="absolute")
        upward = EmptyOperator(task_id="up", priority_weight=1, weight_rule="upstream")
        start >> mid >> [absolute, upward]
        produce() >> mid
        if extra_task:
            EmptyOperator(task_id="extra")
    return d


def test_round_trip_keeps_tasks_edges_rules_pools_and_weights() -> None:
    data = json.loads(json.dumps(serialize_dag(build())))
    sd = SerializedDag(data, version=version_hash(data))
    assert sd.dag_id == "ser" and sd.description == "demo" and sd.max_active_runs == 3
    assert sd.tags == ["a", "b"]
    assert set(sd.tasks) == {"start", "grp.mid", "abs", "up", "produce"}
    mid = sd.tasks["grp.mid"]
    assert sorted(mid.upstream_task_ids) == ["produce", "start"]
    assert sorted(mid.downstream_task_ids) == ["abs", "up"]
    assert mid.trigger_rule == "none_failed_min_one_success"
    assert mid.execution_timeout == 300 and mid.queue == "q2" and mid.retries == 1
    assert mid.retry_delay == 30 and mid.task_group_id == "grp" and mid.operator == "BashOperator"
    start = sd.tasks["start"]
    assert (start.pool, start.pool_slots) == ("small", 2)
    assert sd.tasks["produce"].pool == "default_pool"
    # downstream weight rule: own weight plus every descendant's
    assert start.priority_weight == 2 + 1 + 7 + 1
    assert mid.priority_weight == 1 + 7 + 1
    assert sd.tasks["abs"].priority_weight == 7
    assert sd.tasks["up"].priority_weight == 1 + 1 + 2 + 1  # itself, mid, start, produce
    assert sd.params_dict.resolve({"n": 5}) == {"n": 5, "label": "x"}
    assert sd.timetable.summary == "0 6 * * *"
    order = sd.topological_order()
    assert order.index("start") < order.index("grp.mid") < order.index("abs")
    assert sd.descendants(["start"]) == {"grp.mid", "abs", "up"}
    assert sd.ancestors(["up"]) == {"grp.mid", "start", "produce"}
    assert data["task_group"]["children"][0] == "start"


def test_version_hash_is_stable_and_changes_with_the_dag() -> None:
    first = version_hash(serialize_dag(build()))
    assert first == version_hash(serialize_dag(build()))
    assert first != version_hash(serialize_dag(build(extra_task=True)))
    assert first != version_hash(serialize_dag(build(retries=2)))


def test_version_hash_is_the_same_in_another_process(tmp_path: Path) -> None:
    """No memory addresses or set orders leak into the JSON (the DAG processor is another process)."""
    f = tmp_path / "stable.py"
    f.write_text(
        textwrap.dedent(
            """
            from datetime import datetime, timezone
            from tradewind import DAG, Param
            from tradewind.operators.empty import EmptyOperator
            with DAG("stable", params={"p": Param(1, type="integer")}) as dag:
                for i in range(20):
                    EmptyOperator(task_id=f"t{i}", params={"x": Param(i)}) >> EmptyOperator(task_id=f"u{i}")
            """
        )
    )
    script = (
        "import sys; from tradewind.sdk.loader import load_file; "
        "from tradewind.sdk.serialization import serialize_dag, version_hash; "
        "print(version_hash(serialize_dag(load_file(sys.argv[1]).dags[0])))"
    )
    hashes = {
        subprocess.run(
            [sys.executable, "-c", script, str(f)],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert len(hashes) == 1
