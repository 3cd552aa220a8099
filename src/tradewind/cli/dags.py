"""``tradewind dags``: list, show, pause, trigger and delete DAGs; list their runs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from tradewind.cli._output import console, emit, emit_one, output_option
from tradewind.cli._runtime import DATE, cli_user, get_env, parse_conf, refresh_dags
from tradewind.cli.dags_info import next_execution, report
from tradewind.cli.dags_run import backfill, test
from tradewind.cli.main import CONTEXT_SETTINGS

RUN_COLUMNS = [
    "dag_id",
    "run_id",
    "state",
    "run_type",
    "logical_date",
    "data_interval_start",
    "data_interval_end",
    "start_date",
    "end_date",
]


@click.group(context_settings=CONTEXT_SETTINGS)
def dags() -> None:
    """Manage DAGs: list, show, pause, trigger, test, backfill."""


dags.add_command(test)
dags.add_command(backfill)
dags.add_command(next_execution)
dags.add_command(report)


def run_row(run: Any) -> dict[str, Any]:
    """The fields of a DAG run shown by listings."""
    return {
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "state": run.state,
        "run_type": run.run_type,
        "logical_date": run.logical_date,
        "data_interval_start": run.data_interval_start,
        "data_interval_end": run.data_interval_end,
        "start_date": run.start_date,
        "end_date": run.end_date,
        "conf": run.conf,
        "backfill_id": run.backfill_id,
    }


@dags.command("list", context_settings=CONTEXT_SETTINGS)
@click.option("--include-inactive", is_flag=True, help="Also DAGs whose file is gone.")
@click.option("--no-refresh", is_flag=True, help="Do not parse changed files first.")
@output_option
def list_(include_inactive: bool, no_refresh: bool, output: str) -> None:
    """List the DAGs found in the DAGs folder."""
    from tradewind.services.dags import DagService

    env = get_env()
    if not no_refresh:
        refresh_dags(env)
    listing = DagService(env).listing(include_inactive=include_inactive)
    rows = [_dag_row(dag, upcoming, error) for dag, upcoming, error in listing]
    columns = ["dag_id", "fileloc", "owners", "is_paused", "schedule", "tags"]
    emit(rows, output, columns if output in ("table", "plain") else None)


def _dag_row(dag: Any, upcoming: dict[str, Any] | None, error: Exception | None) -> dict[str, Any]:
    """A DAG's listing fields, with its next run (computed for paused DAGs too)."""
    if error is not None:  # a custom timetable's bug hides only its next run
        exc = error
        click.echo(f"DAG {dag.dag_id}: its timetable failed: {type(exc).__name__}: {exc}", err=True)
    upcoming = upcoming or {}
    return {
        "dag_id": dag.dag_id,
        "fileloc": dag.fileloc,
        "owners": dag.owners,
        "is_paused": dag.is_paused,
        "schedule": dag.timetable_summary,
        "tags": dag.tags,
        "is_active": dag.is_active,
        "next_dagrun_run_after": upcoming.get("run_after"),
        "next_dagrun_logical_date": upcoming.get("logical_date"),
        "next_dagrun_data_interval_start": upcoming.get("data_interval_start"),
        "next_dagrun_data_interval_end": upcoming.get("data_interval_end"),
        "timezone": upcoming.get("timezone"),
    }


@dags.command("list-import-errors", context_settings=CONTEXT_SETTINGS)
@click.option("--no-refresh", is_flag=True, help="Do not parse changed files first.")
@output_option
def list_import_errors(no_refresh: bool, output: str) -> None:
    """List the DAG files that failed to import, with the line and the error."""
    from tradewind.services.dags import DagService

    env = get_env()
    if not no_refresh:
        refresh_dags(env)
    rows = [
        {
            "filepath": e.filename,
            "lineno": e.lineno,
            "error": e.stacktrace,
            "timestamp": e.timestamp,
        }
        for e in DagService(env).import_errors()
    ]
    emit(rows, output, ["filepath", "lineno", "error"] if output == "table" else None)


def _serialized(env: Any, dag_id: str, refresh: bool = True) -> Any:
    from tradewind.services.dags import DagService

    if refresh:
        refresh_dags(env)
    return DagService(env).serialized(dag_id)


@dags.command("show", context_settings=CONTEXT_SETTINGS)
@click.argument("dag_id")
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path), help="Write DOT to FILE.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["tree", "layers", "dot"]),
    default="tree",
    show_default=True,
    help="How to draw it in the terminal.",
)
def show(dag_id: str, save: Path | None, fmt: str) -> None:
    """Show a DAG's tasks and edges (a tree, layers, or Graphviz DOT)."""
    from tradewind.cli import _graph

    sdag = _serialized(get_env(), dag_id)
    tasks = {tid: t.data for tid, t in sdag.tasks.items()}
    if save is not None:
        if save.suffix not in (".dot", ".gv", ""):
            raise click.ClickException(
                f"--save writes Graphviz DOT; name the file .dot (then `dot -Tpng {save.stem}.dot`)"
            )
        save.write_text(_graph.to_dot(dag_id, tasks))
        click.echo(f"Wrote {save}")
        return
    if fmt == "dot":
        click.echo(_graph.to_dot(dag_id, tasks), nl=False)
        return
    out = console()
    if fmt == "tree":
        out.print(_graph.tree(dag_id, tasks))
        return
    out.print(f"[bold]{dag_id}[/] ({len(tasks)} tasks, schedule {sdag.data.get('schedule')})")
    for n, layer in enumerate(_graph.layers({t: v["upstream"] for t, v in tasks.items()})):
        out.print(f"  {n}: " + "  ".join(layer))
    out.print("edges:")
    for up, down in _graph.edges({t: v["downstream"] for t, v in tasks.items()}):
        out.print(f"  {up} -> {down}")


@dags.command("details", context_settings=CONTEXT_SETTINGS)
@click.argument("dag_id")
@output_option
def details(dag_id: str, output: str) -> None:
    """Show a DAG's properties."""
    from tradewind.services.dags import DagService

    env = get_env()
    refresh_dags(env)
    record = DagService(env).details(dag_id)
    emit_one(record, output)


def _set_paused(dag_id: str, paused: bool, output: str) -> None:
    from tradewind.services.dags import DagService

    env = get_env()
    refresh_dags(env)
    row = DagService(env).set_paused(dag_id, paused, user=cli_user())
    record = {"dag_id": row.dag_id, "is_paused": row.is_paused}
    if output == "table":
        click.echo(f"DAG {dag_id} is {'paused' if paused else 'unpaused'}.")
    else:
        emit([record], output)


@dags.command("pause", context_settings=CONTEXT_SETTINGS)
@click.argument("dag_id")
@output_option
def pause(dag_id: str, output: str) -> None:
    """Pause a DAG: the scheduler creates no new runs of it."""
    _set_paused(dag_id, True, output)


@dags.command("unpause", context_settings=CONTEXT_SETTINGS)
@click.argument("dag_id")
@output_option
def unpause(dag_id: str, output: str) -> None:
    """Unpause a DAG: the scheduler runs it on its schedule."""
    _set_paused(dag_id, False, output)


@dags.command("trigger", context_settings=CONTEXT_SETTINGS)
@click.argument("dag_id")
@click.option("-c", "--conf", help="JSON object passed to the run, e.g. '{\"x\": 1}'.")
@click.option("-r", "--run-id", help="The run id (default manual__<logical date>).")
@click.option("-l", "--logical-date", "-e", "--exec-date", type=DATE, help="The logical date.")
@output_option
def trigger(
    dag_id: str, conf: str | None, run_id: str | None, logical_date: datetime | None, output: str
) -> None:
    """Create a manual run of a DAG with an optional conf; the scheduler runs it."""
    from tradewind.services.run_service import RunService

    env = get_env()
    conf_dict = parse_conf(conf)
    refresh_dags(env)
    run, paused = RunService(env).trigger(
        dag_id, conf=conf_dict, run_id=run_id, logical_date=logical_date, user=cli_user(),
        triggered_by="cli",
    )  # fmt: skip
    row = run_row(run)
    emit([row], output, ["dag_id", "run_id", "state", "logical_date", "conf"])
    if paused:
        click.echo(
            f"DAG {dag_id!r} is paused: run {row['run_id']!r} waits, queued, until it is "
            f"unpaused (`tradewind dags unpause {dag_id}`).",
            err=True,
        )


@dags.command("list-runs", context_settings=CONTEXT_SETTINGS)
@click.argument("dag_id")
@click.option("--state", help="Only runs in this state (queued, running, success, failed).")
@click.option("-s", "--start-date", type=DATE, help="Only runs with a logical date from this.")
@click.option("-e", "--end-date", type=DATE, help="Only runs with a logical date up to this.")
@click.option("--limit", type=int, default=100, show_default=True)
@output_option
def list_runs(
    dag_id: str,
    state: str | None,
    start_date: datetime | None,
    end_date: datetime | None,
    limit: int,
    output: str,
) -> None:
    """List the runs of a DAG, newest first."""
    from tradewind.services.run_service import RunService

    rows = [run_row(r) for r in RunService(get_env()).of_dag(dag_id, state=state, limit=limit)]
    if start_date is not None:
        rows = [r for r in rows if r["logical_date"] and r["logical_date"] >= start_date]
    if end_date is not None:
        rows = [r for r in rows if r["logical_date"] and r["logical_date"] <= end_date]
    emit(rows, output, RUN_COLUMNS)


@dags.command("delete", context_settings=CONTEXT_SETTINGS)
@click.argument("dag_id")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(dag_id: str, yes: bool) -> None:
    """Delete every record of a DAG (it comes back if its file still defines it)."""
    from tradewind.services.dags import DagService

    env = get_env()
    if not yes:
        click.confirm(f"This deletes all records of DAG {dag_id!r}. Proceed?", abort=True)
    count = DagService(env).delete(dag_id, user=cli_user())
    click.echo(f"Deleted DAG {dag_id} ({count} rows).")
