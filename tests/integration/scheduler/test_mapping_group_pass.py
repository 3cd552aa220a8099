"""One scheduling pass over a mapped task group, with a frozen clock: a decision the pass makes
for one group instance is seen by the tasks after it in the same pass.

A scheduler only looks at a run again when something happens in it. When a failure inside a
group instance is the run's last event, the pass that marks that instance's downstream
``upstream_failed`` must also decide the ``all_done`` task outside the group; otherwise nothing
is left to wake the run and it stays ``running`` for ever (seen on CI, 1 run in 5).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from tradewind import DAG, task
from tradewind.decorators import task_group
from tradewind.metastore.tables import TaskInstance
from tradewind.services.env import Env
from tradewind.services.ti_state import touch_runs

from . import test_run_evaluation as evaluation
from .conftest import BOTH_DATABASES
from .test_run_evaluation import UTC, _pass, _run_state, _store, _trigger

clock, env = evaluation.clock, evaluation.env  # the frozen clock and the home on it

TIc = TaskInstance.__table__.c


def _group_dag(dag_id: str, nested: bool) -> DAG:
    from datetime import datetime

    with DAG(dag_id, start_date=datetime(2026, 1, 1, tzinfo=UTC), schedule=None) as dag:

        @task
        def work(name: str, part: int = 0) -> str:
            return f"{name}{part}"

        @task
        def joined(values: Any) -> str:
            return "+".join(values)

        @task(trigger_rule="all_done")
        def summary(values: Any) -> list[str]:
            return list(values)

        @task_group
        def per_file(name: str) -> Any:
            if nested:
                return joined(work.partial(name=name).expand(part=[1, 2]))
            return joined(work(name))

        summary(per_file.expand(name=["a", "b", "c"]))
    return dag


def _states(env: Env, dag_id: str, run_id: str) -> dict[tuple[str, int], str | None]:
    with env.db.session(readonly=True) as s:
        rows = s.execute(
            TaskInstance.__table__.select().where(TIc.dag_id == dag_id, TIc.run_id == run_id)
        ).all()
    return {(r.task_id, r.map_index): r.state for r in rows}


def _set(env: Env, dag_id: str, run_id: str, states: dict[tuple[str, int], str]) -> None:
    with env.db.session() as s:
        for (task_id, map_index), state in states.items():
            s.execute(
                update(TaskInstance.__table__)
                .where(
                    TIc.dag_id == dag_id,
                    TIc.run_id == run_id,
                    TIc.task_id == task_id,
                    TIc.map_index == map_index,
                )
                .values(state=state)
            )
        touch_runs(s, [(dag_id, run_id)])


@BOTH_DATABASES
def test_the_last_failure_in_a_group_instance_decides_the_all_done_task_after_it(
    env: Env,
) -> None:
    _store(env, _group_dag("groups", nested=False))
    run_id = _trigger(env, "groups")
    _pass(env)
    assert {_states(env, "groups", run_id)[("per_file.work", i)] for i in range(3)} == {"scheduled"}
    _set(env, "groups", run_id, {("per_file.work", 0): "success", ("per_file.work", 2): "success"})
    _pass(env)
    _set(
        env,
        "groups",
        run_id,
        {("per_file.joined", 0): "success", ("per_file.joined", 2): "success"},
    )
    _pass(env)
    # The run's last event: instance 1 fails. One pass decides its downstream and the summary.
    _set(env, "groups", run_id, {("per_file.work", 1): "failed"})
    _pass(env)
    states = _states(env, "groups", run_id)
    assert states[("per_file.joined", 1)] == "upstream_failed"
    assert states[("summary", -1)] == "scheduled"
    _set(env, "groups", run_id, {("summary", -1): "success"})
    _pass(env)
    assert _run_state(env, "groups", run_id) == "success"


@BOTH_DATABASES
def test_the_last_failure_of_a_task_mapped_inside_a_group_decides_the_task_after_it(
    env: Env,
) -> None:
    _store(env, _group_dag("nested", nested=True))
    run_id = _trigger(env, "nested")
    _pass(env)
    assert {_states(env, "nested", run_id)[("per_file.work", i)] for i in range(6)} == {"scheduled"}
    done = {("per_file.work", i): "success" for i in (0, 1, 2, 4, 5)}
    _set(env, "nested", run_id, done)
    _pass(env)
    _set(
        env,
        "nested",
        run_id,
        {("per_file.joined", 0): "success", ("per_file.joined", 2): "success"},
    )
    _pass(env)
    _set(env, "nested", run_id, {("per_file.work", 3): "failed"})
    _pass(env)
    states = _states(env, "nested", run_id)
    assert states[("per_file.joined", 1)] == "upstream_failed"
    assert states[("summary", -1)] == "scheduled"
