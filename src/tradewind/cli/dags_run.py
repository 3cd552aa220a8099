"""``tradewind dags test`` (a whole run in this process) and ``dags backfill`` (by the scheduler)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import click

from tradewind.cli._output import console, emit, output_option
from tradewind.cli._runtime import (
    DATE,
    cli_user,
    get_env,
    get_settings,
    load_dag_object,
    parse_conf,
    refresh_dags,
)
from tradewind.cli.main import CONTEXT_SETTINGS


def prepared_env() -> Any:
    """The environment, after writing the config file and migrating if that was never done."""
    from tradewind.services.install import write_config_file

    settings = get_settings()
    write_config_file(settings)
    env = get_env(settings)
    env.db.migrate()
    return env


def _validated_conf(dag: Any, conf: dict[str, Any] | None) -> dict[str, Any]:
    from tradewind.sdk.serialization import SerializedDag, serialize_dag
    from tradewind.services.runs import validate_conf

    return validate_conf(SerializedDag(serialize_dag(dag)), conf)


@click.command("test", context_settings=CONTEXT_SETTINGS)
@click.argument("dag_id")
@click.argument("logical_date", required=False, type=DATE)
@click.option("-c", "--conf", help="JSON object passed to the run as its conf.")
@click.option("--no-retry-delay", is_flag=True, help="Retry failed tasks at once.")
@click.option("-q", "--quiet", is_flag=True, help="Do not echo task logs to the terminal.")
@output_option
def test(
    dag_id: str,
    logical_date: datetime | None,
    conf: str | None,
    no_retry_delay: bool,
    quiet: bool,
    output: str,
) -> None:
    """Run one DAG run in this process and print each task's state (exit 1 if it failed).

    States, XComs and logs are written to the metastore as a real run's are.
    """
    from tradewind.dag_test import run_dag_in_process

    env = prepared_env()
    dag = load_dag_object(env, dag_id)
    conf_dict = _validated_conf(dag, parse_conf(conf))
    result = run_dag_in_process(
        dag,
        logical_date,
        conf_dict,
        env=env,
        no_retry_delay=no_retry_delay,
        echo=not quiet and output == "table",
    )
    rows = [
        {
            "task_id": t.task_id,
            "map_index": t.map_index,
            "state": t.state,
            "try_number": t.try_number,
            "duration": round(t.duration, 3) if t.duration is not None else None,
            "start_date": t.start_date,
            "end_date": t.end_date,
        }
        for t in sorted(result.tasks, key=_started_first)
    ]
    if output == "table":
        columns = ["task_id", "state", "try_number", "duration"]
        if any(t.map_index >= 0 for t in result.tasks):  # a mapped task: show which instance
            columns.insert(1, "map_index")
        emit(rows, output, columns, title=result.run_id)
        color = "green" if result.state == "success" else "red"
        console().print(f"DAG run [bold]{result.run_id}[/] ended [{color}]{result.state}[/]")
    else:
        emit(rows, output)
    if result.state != "success":
        raise SystemExit(1)


def _started_first(t: Any) -> tuple[int, str, str]:
    """Order a run's tasks as they ran; those that never started last, by id."""
    started = t.start_date.isoformat() if t.start_date is not None else ""
    return (0 if started else 1, started, t.task_id)


def _plan_rows(plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "logical_date": p["info"].logical_date,
            "data_interval_start": p["info"].data_interval.start,
            "data_interval_end": p["info"].data_interval.end,
            "action": p["action"],
            "existing_run": p["run"].run_id if p["run"] is not None else None,
        }
        for p in plan
    ]


@click.command("backfill", context_settings=CONTEXT_SETTINGS)
@click.argument("dag_id")
@click.option("-s", "--start-date", type=DATE, required=True, help="First logical date.")
@click.option("-e", "--end-date", type=DATE, required=True, help="Last logical date.")
@click.option("--reset-dagruns", is_flag=True, help="Re-run intervals whose run already exists.")
@click.option("--rerun-failed-tasks", is_flag=True, help="Re-run the failed tasks of failed runs.")
@click.option(
    "--reprocess-behavior",
    type=click.Choice(["none", "failed", "completed"]),
    help="Airflow 3's name for the two flags above.",
)
@click.option("--max-active-runs", type=int, default=10, show_default=True)
@click.option("--run-backwards", is_flag=True, help="Newest interval first.")
@click.option("-c", "--conf", help="JSON object passed to every run.")
@click.option("--dry-run", is_flag=True, help="Only print what would run.")
@click.option("--no-wait", is_flag=True, help="Return once the backfill is created.")
@click.option(
    "--local",
    is_flag=True,
    help="Run the backfill here (a scheduler in this process until it is done), for when no "
    "scheduler is running.",
)
@output_option
def backfill(
    dag_id: str,
    start_date: datetime,
    end_date: datetime,
    reset_dagruns: bool,
    rerun_failed_tasks: bool,
    reprocess_behavior: str | None,
    max_active_runs: int,
    run_backwards: bool,
    conf: str | None,
    dry_run: bool,
    no_wait: bool,
    local: bool,
    output: str,
) -> None:
    """Create runs for every interval from START to END; the scheduler runs them.

    Shows the progress until the backfill is done; Ctrl-C stops watching, not the backfill.
    With no scheduler running it says so at once; ``--local`` runs the backfill itself.
    """
    from tradewind.services.backfills import BackfillService

    behavior = reprocess_behavior or (
        "completed" if reset_dagruns else "failed" if rerun_failed_tasks else "none"
    )
    env = get_env()
    conf_dict = parse_conf(conf)
    refresh_dags(env)
    alive = dry_run or _scheduler_alive(env)
    if local and alive and not dry_run:
        click.echo(
            "A scheduler is running: it runs the backfill (--local is not needed).", err=True
        )
        local = False
    elif not (alive or local):
        _no_scheduler(env, no_wait)
    bf, plan = BackfillService(env).create(
        dag_id, start_date, end_date, reprocess_behavior=behavior,
        max_active_runs=max_active_runs, run_backwards=run_backwards, conf=conf_dict,
        dry_run=dry_run, user=cli_user(),
    )  # fmt: skip
    backfill_id = bf.id if bf is not None else None
    complete = bf is not None and bf.completed_at is not None
    rows = _plan_rows(plan)
    if dry_run or output != "table":
        emit(rows, output, ["logical_date", "data_interval_start", "data_interval_end", "action"])
        if dry_run:
            return
    env.wake()
    counts = {a: sum(1 for r in rows if r["action"] == a) for a in ("create", "clear", "skip")}
    if output == "table":
        click.echo(
            f"Backfill {backfill_id} of {dag_id}: {counts['create']} new runs, "
            f"{counts['clear']} cleared, {counts['skip']} skipped (already exist or running)."
        )
    if complete:
        click.echo("Nothing to run.")
        return
    if local:
        failed = _run_locally(env, backfill_id)
    elif no_wait:
        click.echo("The scheduler runs it; follow it with `tradewind dags list-runs`.")
        return
    else:
        failed = _watch(env, backfill_id)
    if failed:
        raise SystemExit(1)


def _scheduler_alive(env: Any) -> bool:
    """Whether a scheduler sent a heartbeat within the health threshold (the health data)."""
    from tradewind.services.jobs import JobService

    return bool(JobService(env).alive("SchedulerJob"))


def _no_scheduler(env: Any, no_wait: bool) -> None:
    """Refuse a watched backfill at once with no scheduler; warn for ``--no-wait``."""
    threshold = float(env.settings.get("scheduler", "scheduler_health_check_threshold"))
    message = (
        f"no scheduler is running (none has sent a heartbeat in the last {threshold:g} s), "
        "so nothing would run this backfill. Start one with `tradewind scheduler`, or pass "
        "--local to run the backfill in this process."
    )
    if not no_wait:
        raise click.ClickException(message)
    click.echo(f"Warning: {message} The runs wait, queued, for a scheduler.", err=True)


def _scheduler_child(env: Any) -> None:
    from tradewind.cli.scheduler import run_scheduler

    env.db.dispose()  # forked: fresh connections
    run_scheduler(env, with_processor=False)


def _run_locally(env: Any, backfill_id: int | None) -> int:
    """Run a scheduler child of this process until the backfill completes; return failures."""
    from tradewind.cli._processes import start_child, stop_children

    child = start_child("tradewind-backfill-scheduler", _scheduler_child, env)
    try:
        return _watch(env, backfill_id, alive=child.is_alive, local=True)
    finally:
        stop_children([child])


def _watch(env: Any, backfill_id: int | None, *, alive: Any = None, local: bool = False) -> int:
    """Show a progress bar until the backfill completes; return its number of failed runs."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tradewind.services.backfills import BackfillService

    assert backfill_id is not None
    out = console()
    if local:
        out.print("[dim]Running the backfill in this process; Ctrl-C stops it.[/]")
    else:
        out.print(
            "[dim]The scheduler runs the backfill; Ctrl-C stops watching, not the backfill.[/]"
        )
    columns = (
        TextColumn("[bold]backfill {task.fields[bf]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    )
    progress: dict[str, Any] = {}
    try:
        with Progress(*columns, console=out) as bar:
            task = bar.add_task("", total=None, bf=backfill_id)
            backfills = BackfillService(env)
            while True:
                progress = backfills.progress(backfill_id)
                finished = int(progress["done"]) + int(progress["failed"])
                bar.update(
                    task,
                    total=int(progress["total"]),
                    completed=finished,
                    description=(
                        f"[green]{progress['done']} done[/] [red]{progress['failed']} failed[/] "
                        f"{progress['running']} running {progress['queued']} queued"
                    ),
                )
                if progress["complete"] or finished >= int(progress["total"]):
                    break
                if alive is not None and not alive():
                    raise click.ClickException(
                        "the scheduler running the backfill stopped before it was done; "
                        "see its log above"
                    )
                time.sleep(0.5)
    except KeyboardInterrupt:
        where = "waits for a scheduler" if local else "keeps running in the scheduler"
        out.print(
            f"Stopped watching. Backfill {backfill_id} {where}; see `tradewind dags list-runs`."
        )
        return 0
    out.print(
        f"Backfill {backfill_id}: {progress['done']} runs succeeded, {progress['failed']} failed."
    )
    return int(progress["failed"])
