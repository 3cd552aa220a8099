"""``tasks run`` (one task instance of a run, for real), ``tasks render`` and ``tasks logs``."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import click

from tradewind.cli._output import console, emit
from tradewind.cli._runtime import get_env, load_dag_object, parse_date
from tradewind.cli.main import CONTEXT_SETTINGS

RUN_OR_DATE = "RUN_ID_OR_LOGICAL_DATE"


def find_run(env: Any, dag_id: str, task_id: str, run_or_date: str) -> Any:
    """The run named by ``run_or_date`` (a run id, else a logical date); a clear error if none.

    The message names which argument was not found (DAG, task or run), so swapped arguments
    (``tasks logs DAG RUN TASK``) are easy to spot.
    """
    from tradewind.errors import InvalidInput, NotFound
    from tradewind.services.dags import DagService
    from tradewind.services.run_service import RunService

    try:
        sdag = DagService(env).serialized(dag_id)
    except NotFound:
        raise click.BadParameter(f"no DAG {dag_id!r}", param_hint="DAG_ID") from None
    if task_id not in sdag.tasks:
        hint = " (arguments are DAG_ID TASK_ID RUN_ID, in Airflow's order)"
        swapped = task_id.startswith(("manual__", "scheduled__", "backfill__"))
        raise click.BadParameter(
            f"DAG {dag_id!r} has no task {task_id!r}{hint if swapped else ''}",
            param_hint="TASK_ID",
        )
    try:
        when: datetime | None = parse_date(run_or_date, "logical date")
    except InvalidInput:
        when = None
    run = RunService(env).find(dag_id, run_or_date, when)
    if run is None:
        raise click.BadParameter(
            f"DAG {dag_id!r} has no run with run id or logical date {run_or_date!r}",
            param_hint=RUN_OR_DATE,
        )
    return run


@click.command("logs", context_settings=CONTEXT_SETTINGS)
@click.argument("dag_id")
@click.argument("task_id")
@click.argument("run_or_date", metavar=RUN_OR_DATE)
@click.option("-t", "--try-number", "--try", "try_number", type=int, help="Default: the latest.")
@click.option("--map-index", type=int, default=-1, show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "json", "yaml", "plain"]),
    default="table",
    show_default=True,
    help="table/plain: the log as text; json/yaml: structured lines.",
)
def logs(
    dag_id: str, task_id: str, run_or_date: str, try_number: int | None, map_index: int, output: str
) -> None:
    """Print the log of one try of a task instance (DAG TASK RUN_ID_OR_DATE, as Airflow)."""
    from tradewind.services.task_instance_service import TaskInstanceService
    from tradewind.services.task_instances import ti_log_path
    from tradewind.services.task_logs import log_as_text, read_log_lines

    env = get_env()
    run = find_run(env, dag_id, task_id, run_or_date)
    ti = TaskInstanceService(env).get(dag_id, run.run_id, task_id, map_index)
    latest = max(ti.try_number, 1)
    path = ti_log_path(env.settings, ti, try_number)
    if try_number is not None and not 1 <= try_number <= latest:
        raise click.BadParameter(
            f"try {try_number} does not exist: tries are 1 to {latest}", param_hint="--try-number"
        )
    if not path.exists():
        raise click.ClickException(f"no log file at {path} (the task has not run this try yet?)")
    lines = read_log_lines(path)
    if output in ("json", "yaml"):
        emit(lines, output)
        return
    click.echo(log_as_text(lines), nl=False)


def _upstream_ready(states: dict[str, Any], task: Any) -> tuple[bool, str]:
    """Whether ``task``'s trigger rule holds given the run's ``states``, and the upstream ones."""
    from tradewind.core.trigger_rules import Decision, UpstreamStates, evaluate

    upstream = [states.get(u) for u in task.upstream_task_ids]
    decision = evaluate(task.trigger_rule, UpstreamStates.from_states(upstream))
    shown = ", ".join(f"{u}={states.get(u) or 'none'}" for u in sorted(task.upstream_task_ids))
    return decision == Decision.RUN, shown


@click.command("run", context_settings=CONTEXT_SETTINGS)
@click.argument("dag_id")
@click.argument("task_id")
@click.argument("run_or_date", metavar=RUN_OR_DATE)
@click.option(
    "-i",
    "--ignore-all-dependencies",
    "--ignore-dependencies",
    "ignore_deps",
    is_flag=True,
    help="Run even if the task's trigger rule does not hold yet.",
)
@click.option("-f", "--force", is_flag=True, help="Run even if the task instance already ran.")
def run(dag_id: str, task_id: str, run_or_date: str, ignore_deps: bool, force: bool) -> None:
    """Run one task instance of an existing run here, recording its state, log and XComs.

    Unlike ``tasks test``, this is a real try: the scheduler sees its outcome.
    """
    from tradewind.dag_test import collect_result
    from tradewind.executors.inline import InlineExecutor
    from tradewind.services.execution import ExecutionService
    from tradewind.services.task_instance_service import TaskInstanceService
    from tradewind.services.testing import queue_single_task

    env = get_env()
    dag = load_dag_object(env, dag_id)
    run_id = find_run(env, dag_id, task_id, run_or_date).run_id
    states = {t.task_id: t.state for t in TaskInstanceService(env).of_run(dag_id, run_id)}
    state = states.get(task_id)
    ready, upstream = _upstream_ready(states, dag.get_task(task_id))
    if state in ("queued", "running", "deferred", "up_for_reschedule"):
        raise click.ClickException(f"task {task_id!r} of run {run_id!r} is {state}: wait for it")
    if state in ("success", "failed", "skipped", "upstream_failed") and not force:
        raise click.ClickException(
            f"task {task_id!r} of run {run_id!r} already ended {state}; pass --force to run it again"
        )
    if not ready and not ignore_deps:
        raise click.ClickException(
            f"the trigger rule {dag.get_task(task_id).trigger_rule} of {task_id!r} does not hold "
            f"({upstream}); pass -i to run it anyway"
        )
    workload = queue_single_task(env, dag_id, run_id, task_id)
    InlineExecutor(
        ExecutionService(env), lambda _w: dag, str(env.settings.log_folder), echo=True
    ).queue_workloads([workload])
    env.wake()
    result = next(t for t in collect_result(env, dag_id, run_id).tasks if t.task_id == task_id)
    color = "green" if result.state == "success" else "red"
    console().print(
        f"Task [bold]{dag_id}.{task_id}[/] of {run_id} (try {result.try_number}) "
        f"ended [{color}]{result.state}[/]"
    )
    if result.state not in ("success", "skipped", "up_for_retry"):
        raise SystemExit(1)


@click.command("render", context_settings=CONTEXT_SETTINGS)
@click.argument("dag_id")
@click.argument("task_id")
@click.argument("logical_date", metavar="LOGICAL_DATE_OR_RUN_ID")
def render(dag_id: str, task_id: str, logical_date: str) -> None:
    """Print a task's template fields rendered for a date (or a run); nothing is run or stored."""
    from tradewind.core.masking import redact
    from tradewind.errors import NotFound
    from tradewind.sdk.context import build_context
    from tradewind.services.run_service import RunService

    env = get_env()
    dag = load_dag_object(env, dag_id)
    try:
        task = dag.get_task(task_id)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="TASK_ID") from None
    try:
        dag_run: Any = RunService(env).get(dag_id, logical_date)
        conf = dict(dag_run.conf or {})
    except NotFound:
        dag_run, conf = _pretend_run(dag, parse_date(logical_date, "logical date")), {}
    variable, connection = _lookups(env)
    run_view = SimpleNamespace(
        run_id=dag_run.run_id,
        logical_date=dag_run.logical_date,
        run_after=dag_run.run_after or dag_run.logical_date,
        data_interval_start=dag_run.data_interval_start,
        data_interval_end=dag_run.data_interval_end,
        conf=conf,
    )
    ti = SimpleNamespace(dag_id=dag_id, task_id=task_id, run_id=run_view.run_id, try_number=1)
    params = dag.params.resolve(conf)
    params.update({k: v for k, v in task.params.items() if k not in conf})
    context = build_context(
        task=task,
        ti=ti,
        dag_run=run_view,
        params=params,
        get_variable=variable,
        get_connection=connection,
        extra_macros=dict(dag.user_defined_macros or {}),
        test_mode=True,
    )
    try:
        rendered = task.render_template_fields(context)
    except Exception as exc:  # noqa: BLE001 - a template error is the user's to read
        raise click.ClickException(
            f"cannot render the templates of {dag_id}.{task_id}: {type(exc).__name__}: {exc}"
        ) from None
    for field in task.template_fields:
        click.echo(f"# {'-' * 58}\n# property: {field}\n# {'-' * 58}")
        click.echo(redact(str(rendered.get(field, getattr(task, field, "")))))
        click.echo()


def _lookups(env: Any) -> tuple[Any, Any]:
    """What templates read: a variable (None when unset), a connection (NotFound if absent)."""
    from tradewind.errors import NotFound
    from tradewind.services.connection_service import ConnectionService
    from tradewind.services.variables import VariableService

    variables, connections = VariableService(env), ConnectionService(env)

    def variable(key: str) -> Any:
        try:
            return variables.value(key)
        except NotFound:
            return None

    def connection(conn_id: str) -> Any:
        found = connections.resolve(conn_id)
        if found is None:
            raise NotFound(f"connection {conn_id!r} does not exist")
        return SimpleNamespace(**found)

    return variable, connection


def _pretend_run(dag: Any, when: datetime) -> Any:
    """What a manual run at ``when`` would look like (its data interval from the timetable)."""
    interval = dag.timetable.infer_manual_data_interval(run_after=when)
    return SimpleNamespace(
        run_id=f"manual__{when.isoformat()}",
        logical_date=when,
        run_after=when,
        data_interval_start=interval.start,
        data_interval_end=interval.end,
    )
