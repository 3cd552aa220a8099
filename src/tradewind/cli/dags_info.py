"""``dags next-execution`` and ``dags report``: when a DAG runs next, what parsing costs."""

from __future__ import annotations

import click

from tradewind.cli._output import emit, output_option
from tradewind.cli._runtime import get_env, refresh_dags
from tradewind.cli.main import CONTEXT_SETTINGS


@click.command("next-execution", context_settings=CONTEXT_SETTINGS)
@click.argument("dag_id")
@click.option("-n", "--num-executions", type=int, default=1, show_default=True)
@output_option
def next_execution(dag_id: str, num_executions: int, output: str) -> None:
    """Print the logical date (and run-after time) of a DAG's next scheduled runs."""
    from tradewind.services.dags import DagService

    env = get_env()
    refresh_dags(env)
    rows, paused = DagService(env).next_runs(dag_id, max(num_executions, 1))
    if output != "table":
        emit(rows, output)
        return
    if paused:
        click.echo(
            f"[INFO] DAG {dag_id!r} is paused: these runs wait until it is unpaused.", err=True
        )
    if not rows:
        click.echo("None")
        return
    for row in rows:
        click.echo(
            f"{row['logical_date'].isoformat() if row['logical_date'] else 'None'}"
            f"  (runs after {row['run_after'].isoformat()} {row['timezone']})"
        )


def _last_line(text: str | None) -> str:
    """The line of an import error that says what went wrong (a traceback's last line)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


@click.command("report", context_settings=CONTEXT_SETTINGS)
@output_option
def report(output: str) -> None:
    """Parse every DAG file now and show, per file, the time it took and what it holds."""
    from tradewind.dag_processing.parser import FileParser
    from tradewind.sdk.finder import find_dag_files

    env = get_env()
    settings = env.settings
    parser = FileParser(
        str(settings.dags_folder),
        timeout=float(settings.get("core", "dagbag_import_timeout")),
        processes=int(settings.get("scheduler", "parsing_processes")),
        batch_size=int(settings.get("scheduler", "parsing_files_per_process")),
    )
    results = parser.parse(find_dag_files(settings.dags_folder))
    rows = [
        {
            "file": r.path,
            "duration": round(r.duration, 4),
            "dag_num": len(r.dags),
            "task_num": sum(len(d.get("tasks", {})) for d in r.dags),
            "dags": ", ".join(sorted(str(d.get("dag_id")) for d in r.dags)),
            "error": _last_line(r.error),
        }
        for r in sorted(results, key=lambda r: -r.duration)
    ]
    emit(rows, output, ["file", "duration", "dag_num", "task_num", "dags", "error"])
