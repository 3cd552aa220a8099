"""``tradewind standalone``: everything on one machine, for a first look or local work.

Initialises the home if needed, creates an admin user (its password printed once and kept
in ``$TRADEWIND_HOME/standalone_admin_password.txt``, mode 600, as Airflow does), then runs
the DAG processor, the web server (if installed) and the scheduler with its executor.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import secrets
import socket
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import click

from tradewind.cli._runtime import get_env, get_settings
from tradewind.cli.main import CONTEXT_SETTINGS
from tradewind.errors import ConfigError

ADMIN_USER = "admin"
PASSWORD_FILE = "standalone_admin_password.txt"


def _enable_examples(config_file: Path) -> None:
    """Turn ``load_examples`` on in a config file standalone just wrote (Airflow's default)."""
    text = config_file.read_text()
    config_file.write_text(re.sub(r"(?m)^load_examples = false$", "load_examples = true", text))


def ensure_admin(env: Any) -> tuple[str, str | None, Path]:
    """Create the admin user if there is no user yet; return (name, password or None, file)."""
    from tradewind.services.user_service import UserService

    path = env.settings.home / PASSWORD_FILE
    password = secrets.token_urlsafe(12)
    created = UserService(env).create_first(
        ADMIN_USER, password, ["Admin"], email="admin@example.com", first_name="Admin",
        last_name="User",
    )  # fmt: skip
    if created is None:
        known = path.read_text().strip() if path.exists() else None
        return ADMIN_USER, known, path
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    return ADMIN_USER, password, path


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _serve(settings: Any, host: str, port: int) -> None:
    """Body of the web server child: its own metastore connections, uvicorn in the foreground."""
    from tradewind.api.app import create_app
    from tradewind.cli._uvicorn import serve
    from tradewind.observability.setup import setup_observability
    from tradewind.services.env import Env

    setup_observability(settings)
    env = Env.from_settings(settings)
    env.db.refresh_statistics()  # the list pages' plans on SQLite depend on them
    serve(create_app(env), host=host, port=port, log_level="warning")


def _trigger(settings: Any) -> None:
    """Body of the triggerer child: deferred tasks' waits (deferrable sensors)."""
    from tradewind.services.env import Env
    from tradewind.triggerer.runner import run_triggerer

    run_triggerer(Env.from_settings(settings))


def _has_module(name: str) -> bool:
    with contextlib.suppress(ImportError):
        return importlib.util.find_spec(name) is not None
    return False


@click.command("standalone", context_settings=CONTEXT_SETTINGS)
@click.option("-p", "--port", type=int, help="Web server port (default [api] port, 8080).")
@click.option(
    "--load-examples/--no-load-examples",
    default=None,
    help="Load the example DAGs (default [core] load_examples; on for a new home).",
)
def standalone(port: int | None, load_examples: bool | None) -> None:
    """Run Tradewind on this machine: DAG processor, scheduler, executor and web server."""
    from tradewind.cli._processes import start_child
    from tradewind.cli.scheduler import refuse_second_scheduler, run_scheduler, setup_logging
    from tradewind.services.install import write_config_file
    from tradewind.services.pools import PoolService

    settings = get_settings()
    written = write_config_file(settings)
    if written is not None and "TRADEWIND__CORE__LOAD_EXAMPLES" not in os.environ:
        _enable_examples(written)
        settings.values["core"]["load_examples"] = True
    if load_examples is not None:
        settings.set("core", "load_examples", load_examples)
    setup_logging(settings)
    env = get_env(settings)
    env.db.migrate()
    PoolService(env).ensure_default()
    refuse_second_scheduler(env)
    host = "127.0.0.1"
    port = port or int(settings.get("api", "port"))
    user: tuple[str, str | None, Path] | None = None
    if _has_module("tradewind.services.users"):
        user = ensure_admin(env)
    web = _has_module("tradewind.api.app")
    if web and not _port_free(host, port):
        raise ConfigError(f"port {port} on {host} is in use: pass --port or stop what uses it")

    def start_children() -> list[BaseProcess]:
        children = []
        if web:
            children.append(start_child("tradewind-webserver", _serve, settings, host, port))
        if _has_module("tradewind.triggerer.runner"):
            children.append(start_child("tradewind-triggerer", _trigger, settings))
        return children

    _banner(settings, host, port, user, web=web)
    run_scheduler(env, with_processor=True, start_children=start_children)
    click.echo("Standalone stopped.")


def _banner(settings: Any, host: str, port: int, user: Any, *, web: bool) -> None:
    lines = [f"Tradewind is starting (home {settings.home}, DAGs folder {settings.dags_folder})."]
    if web:
        lines.append(f"Web UI and API: http://{host}:{port}")
    else:
        lines.append("No web server installed (tradewind.api.app is missing); running without it.")
    if user is not None:
        name, password, path = user
        if password is not None:
            lines.append(f"Log in with username: {name}  password: {password}  (also in {path})")
        else:
            lines.append(f"Users exist already; log in with yours (admin password file: {path}).")
    if settings.get("core", "load_examples"):
        lines.append("Example DAGs are loaded (set [core] load_examples = false to hide them).")
    lines.append("Press Ctrl-C to stop everything.")
    width = max(len(line) for line in lines)
    click.echo("=" * width)
    for line in lines:
        click.echo(line)
    click.echo("=" * width)
