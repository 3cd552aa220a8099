"""``tradewind scheduler`` (with its DAG processor) and ``tradewind dag-processor``."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

import click

from tradewind.cli._runtime import get_env, get_settings
from tradewind.cli.main import CONTEXT_SETTINGS


def setup_logging(settings: Any) -> None:
    """Log to the terminal at ``[logging] logging_level``."""
    level = str(settings.get("logging", "logging_level")).upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="[%(asctime)s] %(levelname)s %(name)s - %(message)s",
    )
    # Alembic narrates every migration step at INFO; only its warnings matter here.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _processor_child(env: Any) -> None:
    """Body of the forked DAG processor: fresh connections, wake the scheduler on changes."""
    from tradewind.dag_processing.processor import run_dag_processor

    env.db.dispose()
    run_dag_processor(env.settings, on_change=env.wake)


def refuse_second_scheduler(env: Any) -> None:
    """On SQLite, refuse before starting anything when another scheduler is alive."""
    from tradewind.services.jobs import JobService

    if not env.settings.is_sqlite:
        return  # PostgreSQL and MySQL run several schedulers side by side
    found = [(j.pid, j.hostname) for j in JobService(env).alive("SchedulerJob")]
    if found:
        pid, host = found[0]
        raise click.ClickException(
            f"another scheduler (pid {pid} on {host}) is running against this SQLite metastore "
            f"({env.db.safe_url}); SQLite supports one scheduler. Stop it first, or use "
            "PostgreSQL to run several."
        )


def run_scheduler(
    env: Any,
    *,
    num_runs: int = -1,
    with_processor: bool = True,
    children: list[BaseProcess] | None = None,
    start_children: Callable[[], list[BaseProcess]] | None = None,
) -> None:
    """Run the scheduler in this process until SIGTERM/SIGINT (or ``num_runs`` passes).

    The DAG processor (and what ``start_children`` forks) is forked once the executor is
    built, so it shares what that imported, and before the executor forks its workers; every
    child (``children`` too) is stopped on the way out.
    """
    from tradewind.cli._executors import make_executor
    from tradewind.cli._processes import start_child, stop_children, sync_examples
    from tradewind.observability.setup import setup_observability
    from tradewind.scheduler.loop import Scheduler
    from tradewind.services.execution import ExecutionService
    from tradewind.services.wakeup import WakeListener

    children = list(children or [])
    setup_observability(env.settings, relay=True)  # the busiest emitter
    sync_examples(env.settings.dags_folder, bool(env.settings.get("core", "load_examples")))
    try:
        execution = ExecutionService(env)
        executor = make_executor(env, execution)
        # Forked after the imports and warm-up above: what this process writes after a fork
        # becomes the child's own copy, and the set up is most of what it writes (#17: a
        # triggerer forked before it held 15 MiB of such copies at idle).
        if with_processor:
            children.insert(0, start_child("tradewind-dag-processor", _processor_child, env))
        if start_children is not None:
            children.extend(start_children())
        listener = WakeListener(env.settings, env.db)
        sched = Scheduler(env, executor, execution, wake_listener=listener)
        sched.install_signal_handlers()
        passes = [0]

        def enough() -> bool:
            passes[0] += 1
            return 0 < num_runs <= passes[0]

        # Frozen before the executor forks its warm workers too: a collection in a worker
        # then never walks (and so never copies, page by page) what it shares with this
        # process (#17: PSS of the idle set).
        gc.collect()
        gc.freeze()
        sched.start()
        # What exists now (imported modules, the ORM and Celery machinery) lives as long as
        # this process: keep it out of the cyclic collector, which otherwise walks all of it
        # on every full collection of the busy loop. Only here, in the scheduler's own
        # process: not in a library user's (dag.test(), tests).
        gc.collect()
        gc.freeze()
        try:
            sched.loop(until=enough)
        finally:
            sched.shutdown()
    finally:
        stop_children(children)


@click.command("scheduler", context_settings=CONTEXT_SETTINGS)
@click.option(
    "-n", "--num-runs", type=int, default=-1, show_default=True, help="Stop after N passes."
)
@click.option(
    "--skip-dag-processor",
    is_flag=True,
    help="Do not run the DAG processor (run `tradewind dag-processor` separately).",
)
def scheduler(num_runs: int, skip_dag_processor: bool) -> None:
    """Run the scheduler (and the DAG processor) until Ctrl-C or SIGTERM."""
    settings = get_settings()
    setup_logging(settings)
    env = get_env(settings)
    env.db.check()
    refuse_second_scheduler(env)
    standalone_processor = bool(settings.get("scheduler", "standalone_dag_processor"))
    click.echo(f"Scheduler starting on {env.db.safe_url}; DAGs folder {settings.dags_folder}")
    run_scheduler(
        env, num_runs=num_runs, with_processor=not (skip_dag_processor or standalone_processor)
    )
    click.echo("Scheduler stopped.")


@click.command("dag-processor", context_settings=CONTEXT_SETTINGS)
def dag_processor() -> None:
    """Parse the DAGs folder and keep the metastore in step with it, until Ctrl-C or SIGTERM."""
    from tradewind.cli._processes import sync_examples
    from tradewind.dag_processing.processor import run_dag_processor

    settings = get_settings()
    setup_logging(settings)
    env = get_env(settings)
    sync_examples(settings.dags_folder, bool(settings.get("core", "load_examples")))
    click.echo(f"DAG processor watching {settings.dags_folder}")
    run_dag_processor(settings, on_change=env.wake)
    click.echo("DAG processor stopped.")
