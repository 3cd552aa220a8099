"""``tradewind tasks``: list, test, inspect, clear task instances and read their logs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from tradewind.cli import tasks_run
from tradewind.cli._output import console, emit, output_option
from tradewind.cli._runtime import DATE, cli_user, get_env, load_dag_object, refresh_dags
from tradewind.cli.dags_run import prepared_env
from tradewind.cli.main import CONTEXT_SETTINGS
from tradewind.errors import InvalidInput

TI_COLUMNS = [
    "dag_id",
    "run_id",
    "task_id",
    "map_index",
    "state",
    "try_number",
    "start_date",
    "end_date",
]


def ti_row(ti: Any) -> dict[str, Any]:
    """The fields of a task instance shown by listings."""
    return {
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "task_id": ti.task_id,
        "map_index": ti.map_index,
        "state": ti.state,
        "try_number": ti.try_number,
        "max_tries": ti.max_tries,
        "start_date": ti.start_date,
        "end_date": ti.end_date,
        "duration": ti.duration,
        "operator": ti.operator,
        "pool": ti.pool,
        "hostname": ti.hostname,
    }


@click.group(context_settings=CONTEXT_SETTINGS)
def tasks() -> None:
    """Manage tasks: list, test, states, clear, logs."""


@tasks.command("list", context_settings=CONTEXT_SETTINGS)
@click.argument("dag_id")
@click.option("-t", "--tree", is_flag=True, help="Show the tasks as a tree of dependencies.")
@output_option
def list_(dag_id: str, tree: bool, output: str) -> None:
    """List the tasks of a DAG (upstream first)."""
    from tradewind.services.dags import DagService

    env = get_env()
    refresh_dags(env)
    sdag = DagService(env).serialized(dag_id)
    if tree:
        from tradewind.cli._graph import tree as draw

        console().print(draw(dag_id, {tid: t.data for tid, t in sdag.tasks.items()}))
        return
    rows = [
        {
            "task_id": tid,
            "operator": sdag.tasks[tid].operator,
            "mapped": sdag.tasks[tid].is_mapped,
            "upstream": sdag.tasks[tid].upstream_task_ids,
            "trigger_rule": sdag.tasks[tid].trigger_rule,
            "retries": sdag.tasks[tid].retries,
            "pool": sdag.tasks[tid].pool,
        }
        for tid in sdag.topological_order()
    ]
    if output == "plain":
        for r in rows:
            click.echo(r["task_id"])
        return
    emit(rows, output)


@tasks.command("test", context_settings=CONTEXT_SETTINGS)
@click.argument("dag_id")
@click.argument("task_id")
@click.argument("logical_date", required=False, type=DATE)
@click.option(
    "--map-index", type=int, default=-1, show_default=True, help="The instance of a mapped task."
)
def test(dag_id: str, task_id: str, logical_date: datetime | None, map_index: int) -> None:
    """Run one task in this process, ignoring its upstream and recording nothing (as Airflow).

    Logs go to the terminal; the metastore is left as it was (the try runs against a scratch
    copy with the variables, connections, pools and the date's run and XComs).
    """
    from tradewind.dag_test import run_task_in_process

    env = prepared_env()
    dag = load_dag_object(env, dag_id)
    when = logical_date or datetime.now(UTC)
    try:
        result = run_task_in_process(dag, task_id, when, env=env, echo=True, map_index=map_index)
    except InvalidInput as exc:
        raise click.ClickException(str(exc)) from None
    color = "green" if result.state == "success" else "red"
    duration = f" in {result.duration:.3f} s" if result.duration is not None else ""
    index = f"[{result.map_index}]" if result.map_index >= 0 else ""
    console().print(
        f"Task [bold]{dag_id}.{task_id}{index}[/] (try {result.try_number}) "
        f"ended [{color}]{result.state}[/]{duration}"
    )
    if result.state not in ("success", "skipped"):
        raise SystemExit(1)


@tasks.command("states-for-dag-run", context_settings=CONTEXT_SETTINGS)
@click.argument("dag_id")
@click.argument("run_id")
@output_option
def states_for_dag_run(dag_id: str, run_id: str, output: str) -> None:
    """List the state of every task instance of a DAG run."""
    from tradewind.services.task_instance_service import TaskInstanceService

    rows = [ti_row(t) for t in TaskInstanceService(get_env()).of_run(dag_id, run_id)]
    emit(rows, output, TI_COLUMNS)


@tasks.command("state", context_settings=CONTEXT_SETTINGS)
@click.argument("dag_id")
@click.argument("task_id")
@click.argument("run_id")
@click.option("--map-index", type=int, default=-1, show_default=True)
def state(dag_id: str, task_id: str, run_id: str, map_index: int) -> None:
    """Print the state of one task instance (``None`` if it has none yet)."""
    from tradewind.services.task_instance_service import TaskInstanceService

    ti = TaskInstanceService(get_env()).get(dag_id, run_id, task_id, map_index)
    click.echo(ti.state if ti.state is not None else "None")


@tasks.command("clear", context_settings=CONTEXT_SETTINGS)
@click.argument("dag_id")
@click.option("-t", "--task-regex", help="Only tasks whose id matches this regex.")
@click.option("-s", "--start-date", type=DATE, help="Only runs with a logical date from this.")
@click.option("-e", "--end-date", type=DATE, help="Only runs with a logical date up to this.")
@click.option("-r", "--run-id", help="Only this run.")
@click.option("-d", "--downstream", is_flag=True, help="Also the tasks downstream.")
@click.option("-u", "--upstream", is_flag=True, help="Also the tasks upstream.")
@click.option("-f", "--only-failed", is_flag=True, help="Only failed task instances.")
@click.option("--only-running", is_flag=True, help="Only running task instances.")
@click.option(
    "--map-index",
    "map_indexes",
    type=int,
    multiple=True,
    help="Only these instances of mapped tasks (repeat for several).",
)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def clear(
    dag_id: str,
    task_regex: str | None,
    start_date: datetime | None,
    end_date: datetime | None,
    run_id: str | None,
    downstream: bool,
    upstream: bool,
    only_failed: bool,
    only_running: bool,
    map_indexes: tuple[int, ...],
    yes: bool,
) -> None:
    """Reset task instances so the scheduler runs them again (running ones are stopped first)."""
    from tradewind.services.task_instance_service import TaskInstanceService

    tis = TaskInstanceService(get_env())
    options: dict[str, Any] = {
        "task_regex": task_regex,
        "start_date": start_date,
        "end_date": end_date,
        "run_id": run_id,
        "downstream": downstream,
        "upstream": upstream,
        "only_failed": only_failed,
        "only_running": only_running,
        "map_indexes": list(map_indexes) if map_indexes else None,
    }
    chosen = [ti_row(t) for t in tis.clear(dag_id, dry_run=True, **options)]
    if not chosen:
        click.echo("No task instances to clear.")
        return
    emit(chosen, "table", ["run_id", "task_id", "map_index", "state", "try_number"])
    if not yes:
        click.confirm(f"Clear these {len(chosen)} task instances?", abort=True)
    count = len(tis.clear(dag_id, user=cli_user(), **options))
    click.echo(f"Cleared {count} task instances.")


for _command in (tasks_run.logs, tasks_run.run, tasks_run.render):
    tasks.add_command(_command)
