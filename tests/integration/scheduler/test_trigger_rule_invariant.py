"""Property: whatever happens to the state of task instances, no task starts before its
trigger rule holds (issue #15: a leftover ``up_for_retry`` ran before its upstream had).

Random DAGs (random edges, trigger rules and failing tasks) run through the real scheduler
pass and task runner on a real metastore, while random state edits land between passes: the
edits a user makes (mark success/failed, clear) and the ones a bug or a stray tool leaves
behind (a task instance put in ``scheduled`` or a due ``up_for_retry`` by a direct write).
The executor checks the invariant against the metastore at every start.
"""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from tests.integration.scheduler.conftest import BOTH_DATABASES

from tradewind import DAG
from tradewind.core.trigger_rules import Decision, TriggerRule, UpstreamStates, evaluate
from tradewind.executors.inline import InlineExecutor
from tradewind.metastore.tables import TaskInstance
from tradewind.operators.python import PythonOperator
from tradewind.scheduler.loop import Scheduler, SchedulerOptions
from tradewind.services.env import Env
from tradewind.services.install import write_config_file
from tradewind.services.task_instances import clear_task_instances, set_ti_state
from tradewind.services.testing import make_test_run, store_dag_object
from tradewind.settings import load_settings

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
_ids = itertools.count()


def _ok() -> None:
    return None


def _fail() -> None:
    raise RuntimeError("this task fails by design")


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(2, 6))
    upstream = [
        sorted(draw(st.sets(st.integers(0, i - 1), max_size=3))) if i else [] for i in range(n)
    ]
    edit = st.tuples(
        st.integers(0, 25),  # before which scheduler pass
        st.integers(0, n - 1),  # which task
        st.sampled_from(["scheduled", "up_for_retry", "success", "failed", "clear"]),
    )
    return {
        "n": n,
        "upstream": upstream,
        "rules": draw(st.lists(st.sampled_from(list(TriggerRule)), min_size=n, max_size=n)),
        "fails": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        "edits": draw(st.lists(edit, max_size=6)),
    }


def _build(dag_id: str, sc: dict[str, Any]) -> DAG:
    with DAG(dag_id, schedule=None, start_date=START) as dag:
        ops = [
            PythonOperator(
                task_id=f"t{i}",
                python_callable=_fail if sc["fails"][i] else _ok,
                trigger_rule=sc["rules"][i],
                retries=0,
            )
            for i in range(sc["n"])
        ]
        for i, ups in enumerate(sc["upstream"]):
            for u in ups:
                ops[u] >> ops[i]
    return dag


class CheckingExecutor(InlineExecutor):
    """Runs each workload inline, after checking its trigger rule against the metastore."""

    def __init__(self, env: Env, dag: DAG, execution: Any, log_folder: str):
        super().__init__(execution, lambda w: dag, log_folder)
        self.env, self.dag, self.violations, self.starts = env, dag, [], 0

    def queue_workloads(self, workloads: list[Any]) -> None:
        for w in workloads:
            self._check(w)
        super().queue_workloads(workloads)

    def _check(self, w: Any) -> None:
        self.starts += 1
        with self.env.db.session(readonly=True) as s:
            rows = s.execute(
                select(TaskInstance.task_id, TaskInstance.state).where(
                    TaskInstance.dag_id == w.dag_id, TaskInstance.run_id == w.run_id
                )
            ).all()
        states = dict(rows)
        task = self.dag.get_task(w.task_id)
        ups = UpstreamStates.from_states(states.get(u) for u in task.upstream_task_ids)
        if evaluate(task.trigger_rule, ups) is not Decision.RUN:
            self.violations.append((w.task_id, str(task.trigger_rule), ups, dict(states)))


def _edit(env: Env, dag_id: str, run_id: str, task_id: str, kind: str) -> None:
    now = env.now()
    with env.db.session() as s:
        if kind in ("success", "failed"):
            set_ti_state(s, dag_id, run_id, task_id, kind, now=now, user="tester")
        elif kind == "clear":
            clear_task_instances(s, dag_id, now=now, task_ids=[task_id], run_id=run_id)
        else:  # a direct write, as a bug or a stray tool leaves behind
            s.execute(
                update(TaskInstance)
                .where(
                    TaskInstance.dag_id == dag_id,
                    TaskInstance.run_id == run_id,
                    TaskInstance.task_id == task_id,
                )
                .values(state=kind, next_retry_at=now - timedelta(seconds=1), updated_at=now)
            )
            from tradewind.services.ti_state import touch_runs

            touch_runs(s, [(dag_id, run_id)])


def _run(env: Env, sc: dict[str, Any]) -> CheckingExecutor:
    from tradewind.services.execution import ExecutionService

    dag_id = f"prop_{next(_ids)}"
    dag = _build(dag_id, sc)
    store_dag_object(env, dag)
    run_id = make_test_run(env, dag_id, START, None)
    execution = ExecutionService(env, skip_retry_delay=True)
    executor = CheckingExecutor(env, dag, execution, str(env.settings.log_folder))
    scheduler = Scheduler(
        env,
        executor,
        execution,
        options=SchedulerOptions(poll_interval=0.05, exclusive=False),
        only_runs={(dag_id, run_id)},
    )
    edits: dict[int, list[tuple[int, str]]] = {}
    for step, task, kind in sc["edits"]:
        edits.setdefault(step, []).append((task, kind))
    scheduler.start()
    try:
        for step in range(30):
            for task, kind in edits.get(step, []):
                _edit(env, dag_id, run_id, f"t{task}", kind)
            scheduler.run_once()
            executor.results.clear()
            if scheduler.finished_runs and step > max(edits, default=-1):
                break
            time.sleep(0.002)
    finally:
        scheduler.shutdown()
    return executor


@pytest.fixture
def invariant_env(db_url: str, tmp_path: Path) -> Env:
    home = tmp_path / "home"
    environ = {"TRADEWIND__DATABASE__SQL_ALCHEMY_CONN": db_url}
    settings_ = load_settings(home, environ=environ)
    write_config_file(settings_)
    env = Env.from_settings(load_settings(home, environ=environ))
    env.db.migrate()
    return env


@BOTH_DATABASES
def test_no_task_starts_before_its_trigger_rule_holds(invariant_env: Env) -> None:
    starts = 0

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(scenarios())
    def check(sc: dict[str, Any]) -> None:
        nonlocal starts
        executor = _run(invariant_env, sc)
        starts += executor.starts
        assert not executor.violations, (
            f"tasks started before their trigger rule held: {executor.violations}\nscenario: {sc}"
        )

    check()
    assert starts > 30  # the scenarios did run tasks: the invariant was checked, not skipped
