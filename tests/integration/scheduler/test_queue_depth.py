"""Queueing reads a few candidates per pool first, and the full depth when they cannot fill
the free slots (services/queueing.py, #17): what runs is what a full read would pick."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select, update

from tradewind.core.clock import FrozenClock
from tradewind.metastore.tables import TaskInstance
from tradewind.operators.empty import EmptyOperator
from tradewind.sdk.dag import DAG
from tradewind.services import queueing, run_creation, scheduling
from tradewind.services.env import Env
from tradewind.services.install import write_config_file
from tradewind.services.runs import trigger_run
from tradewind.services.testing import store_dag_object
from tradewind.settings import load_settings

UTC = timezone.utc
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _env(tmp_path: Path) -> Env:
    environ = {"TRADEWIND__CORE__DAGS_ARE_PAUSED_AT_CREATION": "false"}
    write_config_file(load_settings(tmp_path / "home", environ=environ))
    env = Env.from_settings(
        load_settings(tmp_path / "home", environ=environ), clock=FrozenClock(T0)
    )
    env.db.migrate()
    return env


def _start(env: Env, dag: DAG) -> str:
    dag.fileloc = __file__
    store_dag_object(env, dag)
    with env.db.session() as s:
        run_id = trigger_run(s, dag.dag_id, now=env.now()).run_id
    with env.db.session() as s:
        run_creation.start_queued_runs(s, env.now())
    return run_id


def _queue(env: Env, free: int) -> list[str]:
    with env.db.session() as s:
        queueing.ensure_default_pool(s)
    with env.db.session() as s:
        workloads = queueing.queue_ready(
            s,
            now=env.now(),
            free_executor_slots=free,
            secret="k" * 32,
            cache=scheduling.DagCache(),
            estimates=queueing.DurationEstimates(),
            job_id=None,
            token_ttl=60.0,
        )
    return [f"{w.dag_id}.{w.task_id}" for w in workloads]


def test_a_task_below_the_first_read_still_runs_when_the_top_ones_cannot(tmp_path: Path) -> None:
    env = _env(tmp_path)
    with DAG("capped", start_date=T0, schedule=None, max_active_tasks=1) as capped:
        for i in range(30):  # outrank "other", but their DAG may run one at a time
            EmptyOperator(task_id=f"c{i:02d}", priority_weight=10)
    with DAG("other", start_date=T0, schedule=None) as other:
        EmptyOperator(task_id="o", priority_weight=1)
    _start(env, capped)
    _start(env, other)
    with env.db.session() as s:
        scheduling.evaluate_dirty_runs(s, scheduling.DagCache(), env.now())
    tic = TaskInstance.__table__.c
    with env.db.session() as s:  # one of "capped" runs already: its cap is reached
        s.execute(
            update(TaskInstance.__table__)
            .where(tic.dag_id == "capped", tic.task_id == "c00")
            .values(state="running", start_date=T0)
        )
    assert _queue(env, free=1) == ["other.o"]
    with env.db.session(readonly=True) as s:
        queued = s.execute(select(TaskInstance.task_id).where(TaskInstance.state == "queued"))
        assert list(queued.scalars()) == ["o"]


def test_the_first_read_queues_by_priority(tmp_path: Path) -> None:
    env = _env(tmp_path)
    with DAG("many", start_date=T0, schedule=None) as dag:
        for i in range(40):
            EmptyOperator(task_id=f"t{i:02d}", priority_weight=i)
    _start(env, dag)
    with env.db.session() as s:
        scheduling.evaluate_dirty_runs(s, scheduling.DagCache(), env.now())
    assert _queue(env, free=3) == ["many.t39", "many.t38", "many.t37"]


def test_a_task_of_a_missing_pool_waits_for_the_pool_and_others_run(tmp_path: Path) -> None:
    env = _env(tmp_path)
    with DAG("pools", start_date=T0, schedule=None) as dag:
        EmptyOperator(task_id="later", pool="not_yet", priority_weight=10)
        EmptyOperator(task_id="now", priority_weight=1)
    _start(env, dag)
    with env.db.session() as s:
        scheduling.evaluate_dirty_runs(s, scheduling.DagCache(), env.now())
    assert _queue(env, free=4) == ["pools.now"]
    with env.db.session(readonly=True) as s:
        state = s.execute(select(TaskInstance.state).where(TaskInstance.task_id == "later"))
        assert state.scalar_one() == "scheduled"  # not failed: the pool may be created later
    with env.db.session() as s:
        s.add(queueing.Pool(pool="not_yet", slots=1, description="", include_deferred=False))
    assert _queue(env, free=4) == ["pools.later"]
