"""Run a whole DAG once in this process (``tradewind dags test``, ``dag.test()``).

The same scheduler pass, the same task runner and the same metastore writes as a real
deployment, with an inline executor: states, XComs and logs end up where they always do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tradewind.core.execution import Workload
from tradewind.executors.inline import InlineExecutor
from tradewind.scheduler.loop import Scheduler, SchedulerOptions
from tradewind.sdk.test_hook import register_runner
from tradewind.services import runs as run_service
from tradewind.services.env import Env
from tradewind.services.execution import ExecutionService
from tradewind.services.testing import (
    make_test_run,
    mirror_run,
    queue_single_task,
    scratch_env,
    store_dag_object,
)


@dataclass
class TaskResult:
    task_id: str
    state: str | None
    try_number: int
    start_date: datetime | None
    end_date: datetime | None
    duration: float | None
    map_index: int = -1


@dataclass
class DagTestResult:
    dag_id: str
    run_id: str
    state: str
    tasks: list[TaskResult]


def _ensure_env(env: Env | None) -> Env:
    if env is not None:
        return env
    from tradewind.services.install import write_config_file
    from tradewind.settings import load_settings

    settings = load_settings()
    write_config_file(settings)
    env = Env.from_settings(settings)
    env.db.migrate()
    return env


def run_dag_in_process(
    dag: Any,
    logical_date: datetime | None = None,
    conf: dict[str, Any] | None = None,
    *,
    env: Env | None = None,
    no_retry_delay: bool = False,
    echo: bool = True,
) -> DagTestResult:
    """Run every task of ``dag`` for ``logical_date`` until the run ends; return the states."""
    env = _ensure_env(env)
    logical_date = logical_date or datetime.now(timezone.utc)
    if logical_date.tzinfo is None:
        logical_date = logical_date.replace(tzinfo=timezone.utc)
    store_dag_object(env, dag)
    run_id = make_test_run(env, dag.dag_id, logical_date, conf)
    execution = ExecutionService(env, skip_retry_delay=no_retry_delay)
    executor = InlineExecutor(execution, lambda w: dag, str(env.settings.log_folder), echo=echo)
    scheduler = Scheduler(
        env,
        executor,
        execution,
        options=SchedulerOptions(poll_interval=0.2, exclusive=False),
        only_runs={(dag.dag_id, run_id)},
    )
    scheduler.start()
    try:
        while not scheduler.finished_runs:
            wait = scheduler.run_once()
            if scheduler.finished_runs:
                break
            if executor.results:
                executor.results.clear()
                continue
            if _run_deferred_inline(env, dag.dag_id, run_id):
                continue
            time.sleep(min(max(wait, 0.01), 1.0))
    finally:
        scheduler.shutdown()
    return collect_result(env, dag.dag_id, run_id)


def _run_deferred_inline(env: Env, dag_id: str, run_id: str) -> bool:
    """Wait for the run's deferred tasks' triggers here (no triggerer needed); True if any."""
    import asyncio

    from tradewind.services import triggers as trigger_service
    from tradewind.services.testing import deferred_triggers
    from tradewind.triggerer.triggers import load_trigger

    rows = deferred_triggers(env, dag_id, run_id)
    for row in rows:

        async def first_event(trigger: Any) -> Any:
            async for event in trigger.run():
                return event.payload
            return None

        trigger = load_trigger(row["classpath"], row["kwargs"])
        payload = asyncio.run(first_event(trigger))
        with env.db.session() as s:
            trigger_service.fire_triggers(s, {row["id"]: payload}, env.now())
    return bool(rows)


def collect_result(env: Env, dag_id: str, run_id: str) -> DagTestResult:
    with env.db.session(readonly=True) as s:
        run = run_service.get_run(s, dag_id, run_id)
        tis = run_service.task_states(s, dag_id, run_id)
        return DagTestResult(
            dag_id,
            run_id,
            run.state,
            [
                TaskResult(
                    t.task_id,
                    t.state,
                    t.try_number,
                    t.start_date,
                    t.end_date,
                    t.duration,
                    t.map_index,
                )
                for t in tis
            ],
        )


def run_task_in_process(
    dag: Any,
    task_id: str,
    logical_date: datetime,
    *,
    env: Env | None = None,
    echo: bool = True,
    map_index: int = -1,
) -> TaskResult:
    """Run one task of ``dag`` for ``logical_date``, ignoring its upstream (``tasks test``).

    Records nothing in the metastore, as Airflow's ``tasks test``: the try runs against a
    scratch copy (``services.testing.scratch_env``) that holds the variables, connections,
    pools and, when the date has a real run, that run's id, conf and XComs.
    """
    env = _ensure_env(env)
    if logical_date.tzinfo is None:
        logical_date = logical_date.replace(tzinfo=timezone.utc)
    dag.get_task(task_id)
    with scratch_env(env) as scratch:
        store_dag_object(scratch, dag)
        run_id = mirror_run(env, scratch, dag.dag_id, logical_date) or make_test_run(
            scratch, dag.dag_id, logical_date, None
        )
        workload: Workload = queue_single_task(scratch, dag.dag_id, run_id, task_id, map_index)
        execution = ExecutionService(scratch, skip_retry_delay=True)
        InlineExecutor(
            execution, lambda w: dag, str(scratch.settings.log_folder), echo=echo
        ).queue_workloads([workload])
        result = collect_result(scratch, dag.dag_id, run_id)
    return next(
        t for t in result.tasks if t.task_id == task_id and t.map_index == workload.map_index
    )


register_runner(run_dag_in_process)  # what DAG.test() calls (sdk/test_hook.py)
