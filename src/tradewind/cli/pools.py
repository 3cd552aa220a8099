"""``tradewind pools``: create, read, delete, import and export pools (Airflow's JSON form)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tradewind.cli._output import emit, output_option
from tradewind.cli._runtime import cli_user, get_env
from tradewind.cli.main import CONTEXT_SETTINGS
from tradewind.errors import InvalidInput

if TYPE_CHECKING:
    from tradewind.services.pools import PoolService

COLUMNS = ["pool", "slots", "description", "include_deferred", "running", "queued", "open_slots"]


def pool_row(p: Any) -> dict[str, Any]:
    """The fields of a pool shown by listings."""
    return {
        "pool": p.name,
        "slots": p.slots,
        "description": p.description,
        "include_deferred": p.include_deferred,
        "running": p.running,
        "queued": p.queued,
        "open_slots": p.open_slots,
    }


@click.group(context_settings=CONTEXT_SETTINGS)
def pools() -> None:
    """Manage pools (slots shared by task instances)."""


@pools.command("list", context_settings=CONTEXT_SETTINGS)
@output_option
def list_(output: str) -> None:
    """List every pool with its slot usage."""
    rows = [pool_row(p) for p in _pools().everything()]
    emit(rows, output, COLUMNS)


@pools.command("get", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@output_option
def get(name: str, output: str) -> None:
    """Show one pool."""
    row = pool_row(_pools().get(name))
    emit([row], output, COLUMNS)


@pools.command("set", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@click.argument("slots", type=int)
@click.argument("description")
@click.option("--include-deferred", is_flag=True, help="Deferred tasks also take slots.")
@output_option
def set_(name: str, slots: int, description: str, include_deferred: bool, output: str) -> None:
    """Create or update a pool (SLOTS -1 means unlimited)."""
    info = _pools().put(
        name, slots, description, include_deferred=include_deferred, user=cli_user()
    )
    emit([pool_row(info)], output, COLUMNS)


@pools.command("delete", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
def delete(name: str) -> None:
    """Delete a pool (not default_pool)."""
    _pools().delete(name, user=cli_user())
    click.echo(f"Deleted pool {name}.")


@pools.command("import", context_settings=CONTEXT_SETTINGS)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(file: Path) -> None:
    """Create or update pools from a JSON file: {"name": {"slots": N, "description": "..."}}."""
    try:
        data = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{file} is not valid JSON: {exc}") from None
    names = [p.name for p in _pools().import_(data, user=cli_user())]
    click.echo(f"Imported {len(names)} pools: {', '.join(names)}")


@pools.command("export", context_settings=CONTEXT_SETTINGS)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def export(file: Path) -> None:
    """Write every pool to a JSON file in Airflow's format."""
    data = _pools().export()
    file.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    click.echo(f"Exported {len(data)} pools to {file}")


def _pools() -> PoolService:
    """The pools' service for this installation (imported when a command runs)."""
    from tradewind.services.pools import PoolService

    return PoolService(get_env())
