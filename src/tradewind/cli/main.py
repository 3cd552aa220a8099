"""The ``tradewind`` command: a click group whose sub-commands are imported on first use.

Only click is imported here, so ``tradewind version`` and ``tradewind -h`` stay fast; each
command imports SQLAlchemy and the services inside its own body.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from typing import Any

import click

CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: command name -> (module, attribute) of our own commands
_BUILTIN: dict[str, tuple[str, str]] = {
    "version": ("tradewind.cli.main", "version"),
    "db": ("tradewind.cli.db", "db"),
    "config": ("tradewind.cli.config", "config"),
    "dags": ("tradewind.cli.dags", "dags"),
    "tasks": ("tradewind.cli.tasks", "tasks"),
    "pools": ("tradewind.cli.pools", "pools"),
    "scheduler": ("tradewind.cli.scheduler", "scheduler"),
    "dag-processor": ("tradewind.cli.scheduler", "dag_processor"),
    "standalone": ("tradewind.cli.standalone", "standalone"),
    "info": ("tradewind.cli.info", "info"),
    "cheat-sheet": ("tradewind.cli.info", "cheat_sheet"),
    "plugins": ("tradewind.cli.info", "plugins"),
    "roles": ("tradewind.cli.info", "roles"),
    "jobs": ("tradewind.cli.jobs", "jobs"),
}

#: command name -> module written by other parts of the project, registered if present
_OPTIONAL: dict[str, str] = {
    "users": "tradewind.cli.users",
    "celery": "tradewind.cli.celery",
    "connections": "tradewind.cli.connections",
    "variables": "tradewind.cli.variables",
    "triggerer": "tradewind.cli.triggerer",
    "webserver": "tradewind.cli.webserver",
    "api-server": "tradewind.cli.webserver",
    "rotate-fernet-key": "tradewind.cli.connections",
}


def debug_enabled() -> bool:
    """True when tracebacks should be shown (``--verbose`` or ``TRADEWIND_DEBUG=1``)."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    verbose = bool(root and isinstance(root.obj, dict) and root.obj.get("verbose"))
    return verbose or os.environ.get("TRADEWIND_DEBUG", "") not in ("", "0", "false")


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def _find_command(module: Any, name: str) -> click.Command | None:
    """Find the click command called ``name`` in ``module`` (by attribute or command name)."""
    attr = getattr(module, name.replace("-", "_"), None)
    if isinstance(attr, click.Command):
        return attr
    commands = [v for v in vars(module).values() if isinstance(v, click.Command)]
    named = [c for c in commands if c.name == name]
    if named:
        return named[0]
    groups = [c for c in commands if isinstance(c, click.Group)]
    return groups[0] if len(groups) == 1 else (commands[0] if len(commands) == 1 else None)


def _broken_command(name: str, error: BaseException) -> click.Command:
    """A stand-in for an optional command whose module fails to import."""

    @click.command(name, context_settings=CONTEXT_SETTINGS, help=f"(unavailable: {error})")
    def broken() -> None:
        raise click.ClickException(f"the {name!r} command cannot be loaded: {error}")

    return broken


def _sqlalchemy_message(exc: BaseException) -> str | None:
    """A readable message for a database error, or None if ``exc`` is not one."""
    if not type(exc).__module__.startswith("sqlalchemy"):
        return None
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return (
        f"the metastore refused the operation: {first}\n"
        "Is the database initialised and current? Run `tradewind db check` or `tradewind db init`."
    )


class TradewindGroup(click.Group):
    """A group that loads sub-commands lazily and turns our errors into ``Error: ...``."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None, **kw: Any):
        super().__init__(*args, **kw)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx)) | set(self.lazy)
        if ctx.parent is None:
            names |= {n for n, mod in _OPTIONAL.items() if _module_exists(mod)}
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        if cmd_name in self.lazy:
            module_name, attr = self.lazy[cmd_name]
            command: click.Command = getattr(importlib.import_module(module_name), attr)
            return command
        if ctx.parent is None and cmd_name in _OPTIONAL and _module_exists(_OPTIONAL[cmd_name]):
            try:
                module = importlib.import_module(_OPTIONAL[cmd_name])
            except Exception as exc:  # noqa: BLE001 - someone else's module; keep ours working
                return _broken_command(cmd_name, exc)
            command_or_none = _find_command(module, cmd_name)
            if command_or_none is not None and command_or_none.name != cmd_name:
                # e.g. the webserver module's command registered under its Airflow 3 alias
                return _renamed(command_or_none, cmd_name)
            return command_or_none
        return None

    def invoke(self, ctx: click.Context) -> Any:
        from tradewind.errors import TradewindError

        try:
            return super().invoke(ctx)
        except TradewindError as exc:
            if debug_enabled():
                raise
            raise click.ClickException(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            message = _sqlalchemy_message(exc)
            if message is None or debug_enabled():
                raise
            raise click.ClickException(message) from None


def _renamed(command: click.Command, name: str) -> click.Command:
    import copy

    clone = copy.copy(command)
    clone.name = name
    return clone


@click.group(
    cls=TradewindGroup,
    lazy=_BUILTIN,
    context_settings=CONTEXT_SETTINGS,
    help="Tradewind: write workflows as Python DAGs; schedule, run and watch them.",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Show tracebacks on errors (or TRADEWIND_DEBUG=1)."
)
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Root of every command."""
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose


@click.command(context_settings=CONTEXT_SETTINGS)
def version() -> None:
    """Print the Tradewind version."""
    from tradewind import __version__

    click.echo(__version__)


def main() -> None:
    """Entry point of the ``tradewind`` console script."""
    cli.main(prog_name="tradewind", windows_expand_args=False)


if __name__ == "__main__":  # pragma: no cover
    main()
