"""``tradewind info``, ``cheat-sheet``, ``plugins`` and ``roles list``: what is installed here."""

from __future__ import annotations

import platform
import sys
from typing import Any

import click

from tradewind.cli._output import emit, emit_one, output_option
from tradewind.cli._runtime import get_settings
from tradewind.cli.main import CONTEXT_SETTINGS


def _database_url(settings: Any) -> str:
    from sqlalchemy.engine import make_url

    return str(make_url(settings.sql_alchemy_conn).render_as_string(hide_password=True))


@click.command("info", context_settings=CONTEXT_SETTINGS)
@output_option
def info(output: str) -> None:
    """Show the version, platform, paths, metastore and executor of this installation."""
    from tradewind import __version__

    settings = get_settings()
    record = {
        "tradewind_version": __version__,
        "python_version": platform.python_version(),
        "python_location": sys.executable,
        "platform": platform.platform(),
        "tradewind_home": str(settings.home),
        "config_file": str(settings.config_file),
        "dags_folder": str(settings.dags_folder),
        "plugins_folder": str(settings.get("core", "plugins_folder")),
        "base_log_folder": str(settings.log_folder),
        "sql_alchemy_conn": _database_url(settings),
        "executor": str(settings.get("core", "executor")),
    }
    emit_one(record, output)


def _leaf_commands(group: click.Group, ctx: click.Context, path: list[str]) -> list[Any]:
    """(command line, one-line help) of every command below ``group``, depth first."""
    rows: list[Any] = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        if isinstance(command, click.Group):
            sub = click.Context(command, info_name=name, parent=ctx)
            rows += _leaf_commands(command, sub, [*path, name])
        else:
            rows.append((" ".join(["tradewind", *path, name]), command.get_short_help_str(80)))
    return rows


@click.command("cheat-sheet", context_settings=CONTEXT_SETTINGS)
@click.pass_context
def cheat_sheet(ctx: click.Context) -> None:
    """List every command with a one-line description."""
    root = ctx.find_root()
    assert isinstance(root.command, click.Group)
    rows = _leaf_commands(root.command, root, [])
    width = max(len(line) for line, _ in rows)
    sections: dict[str, list[tuple[str, str]]] = {}
    for line, help_text in rows:
        words = line.split()
        sections.setdefault(words[1] if len(words) > 2 else "Miscellaneous", []).append(
            (line, help_text)
        )
    for i, (section, lines) in enumerate(sections.items()):
        click.echo(("\n" if i else "") + section)
        for line, help_text in lines:
            click.echo(f"  {line.ljust(width)}  {help_text}")


@click.command("plugins", context_settings=CONTEXT_SETTINGS)
@output_option
def plugins(output: str) -> None:
    """List the loaded plugins (entry points and the plugins folder) and those that failed."""
    from tradewind.plugins_manager import load_plugins, plugin_summaries

    settings = get_settings()
    loaded = load_plugins(settings)
    rows = plugin_summaries(loaded)
    if output != "table":
        emit(rows, output, ["name", "source", "operators", "hooks", "macros", "timetables"])
        return
    if not rows:
        click.echo(f"No plugins loaded (plugins folder {settings.get('core', 'plugins_folder')}).")
    else:
        emit(rows, output, ["name", "source", "operators", "hooks", "macros", "timetables"])
    for source, error in loaded.errors.items():
        click.echo(f"Error loading {source}: {error}", err=True)


@click.group("roles", context_settings=CONTEXT_SETTINGS)
def roles() -> None:
    """Inspect the roles (Airflow's five default roles)."""


@roles.command("list", context_settings=CONTEXT_SETTINGS)
@click.option("-p", "--permission", is_flag=True, help="Show each role's permissions too.")
@output_option
def roles_list(permission: bool, output: str) -> None:
    """List the roles and, with -p, what each may do."""
    from tradewind.core.permissions import Role, permissions_of

    rows: list[dict[str, Any]] = []
    for role in Role:
        row: dict[str, Any] = {"name": role.value}
        if permission:
            grants = sorted(f"{a.value} on {r.value}" for r, a in permissions_of(role))
            row["permissions"] = ", ".join(grants) if output == "table" else grants
        rows.append(row)
    emit(rows, output, ["name", "permissions"] if permission else ["name"])
