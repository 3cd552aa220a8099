"""``tradewind celery worker|flower``: the worker node's commands."""

from __future__ import annotations

import logging
import os
import socket
import sys

import click

from tradewind.errors import TradewindError
from tradewind.settings import load_settings

_DB_ENV = "TRADEWIND__DATABASE__SQL_ALCHEMY_CONN"


@click.group("celery")
def celery() -> None:
    """Run Celery workers (and Celery's monitor, flower) for the CeleryExecutor."""


@celery.command("worker")
@click.option(
    "-q",
    "--queues",
    default=None,
    help="Comma-separated queues to consume (default: [celery] default_queue).",
)
@click.option(
    "-c",
    "--concurrency",
    type=int,
    default=None,
    help="Tasks run at once (default: [celery] worker_concurrency).",
)
@click.option(
    "-H", "--hostname", default=None, help="Celery node name (default: tradewind@<host>-<pid>)."
)
@click.option("-l", "--loglevel", default="INFO", show_default=True)
def worker(
    queues: str | None, concurrency: int | None, hostname: str | None, loglevel: str
) -> None:
    """Take tasks from the broker and run them, reporting through the execution API.

    A worker needs the broker URL, the execution API URL and the DAG files; it never
    receives database credentials.
    """
    from tradewind.worker.celery_app import make_celery_app

    _log_to_stderr(loglevel)
    settings = load_settings()
    if os.environ.get(_DB_ENV):
        click.echo(
            f"Warning: {_DB_ENV} is set; Celery workers do not use it (they report over HTTP).",
            err=True,
        )
    try:
        app = make_celery_app(settings)
    except TradewindError as exc:
        raise click.ClickException(str(exc)) from None
    from tradewind.worker.celery_app import preload_dag_files, queue_prefix

    loaded = preload_dag_files(settings)
    queues = queues or str(settings.get("celery", "default_queue"))
    prefix = queue_prefix(settings)
    queues = ",".join(prefix + q.strip() for q in queues.split(",") if q.strip())
    concurrency = concurrency or int(settings.get("celery", "worker_concurrency"))
    node = hostname or f"tradewind@{socket.gethostname()}-{os.getpid()}"
    argv = [
        "worker",
        f"--loglevel={loglevel}",
        "-Q",
        queues,
        "-c",
        str(concurrency),
        "-P",
        "prefork",
        "-n",
        node,
        "--without-gossip",
        "--without-mingle",
    ]
    click.echo(
        f"Celery worker {node}: queues {queues}, concurrency {concurrency}, {loaded} DAG files "
        f"preloaded, reporting to {settings.get('core', 'execution_api_server_url')}",
        err=True,
    )
    app.worker_main(argv=argv)


def _log_to_stderr(level: str) -> None:
    """Show what the worker decides (tries run, messages refused) on its stderr."""
    handler = logging.StreamHandler(sys.__stderr__)
    fmt = "[%(asctime)s: %(levelname)s/%(processName)s %(process)d] %(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt))
    logger = logging.getLogger("tradewind.worker")
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if level.upper() != "DEBUG":
        # Celery's two lines per message ("received", "succeeded in") cost more than a
        # trivial try; "running ..." above says what ran. --loglevel DEBUG shows them again.
        for name in ("celery.worker.strategy", "celery.app.trace"):
            logging.getLogger(name).setLevel(logging.WARNING)


@celery.command(
    "flower", context_settings={"ignore_unknown_options": True, "allow_extra_args": True}
)
@click.option("-p", "--port", type=int, default=5555, show_default=True)
@click.option("--address", default="127.0.0.1", show_default=True)
@click.pass_context
def flower(ctx: click.Context, port: int, address: str) -> None:
    """Start Celery's web monitor (needs the flower extra)."""
    try:
        import flower as _flower  # noqa: F401
    except ImportError:
        click.echo(
            "Error: flower is not installed. Install it with: pip install 'tradewind[flower]'",
            err=True,
        )
        sys.exit(1)
    from tradewind.worker.celery_app import make_celery_app

    app = make_celery_app(load_settings())
    app.start(argv=["flower", f"--port={port}", f"--address={address}", *ctx.args])
