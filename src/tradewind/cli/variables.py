"""``tradewind variables set|get|list|delete|export|import``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tradewind.cli._output import emit, output_option, write_private
from tradewind.cli._runtime import get_env

if TYPE_CHECKING:
    from tradewind.services.variables import VariableService

CONTEXT = {"help_option_names": ["-h", "--help"]}


@click.group(context_settings=CONTEXT)
def variables() -> None:
    """Manage variables (key-value settings, encrypted at rest)."""


@variables.command("set")
@click.argument("key")
@click.argument("value")
@click.option("-j", "--json", "as_json", is_flag=True, help="Parse VALUE as JSON before storing it")
@click.option("--description")
def set_(key: str, value: str, as_json: bool, description: str | None) -> None:
    """Create or update a variable."""
    from tradewind.errors import InvalidInput

    stored: object = value
    if as_json:
        try:
            stored = json.loads(value)
        except ValueError as exc:
            raise InvalidInput(f"VALUE is not valid JSON: {exc}") from None
    _variables().put(key, stored, description=description, serialize_json=as_json)
    click.echo(f"Variable {key} created")


@variables.command("get")
@click.argument("key")
@click.option(
    "-j", "--json", "as_json", is_flag=True, help="Parse the value as JSON and print it formatted"
)
@click.option(
    "-d", "--default", "default", default=None, help="Print this when the variable does not exist"
)
def get(key: str, as_json: bool, default: str | None) -> None:
    """Print a variable's value (the stored text, as Airflow prints it)."""
    from tradewind.errors import NotFound

    try:
        value = _variables().value(key, deserialize_json=as_json)
    except NotFound:
        if default is None:
            raise
        value = default
    click.echo(json.dumps(value, indent=2) if as_json else value)


@variables.command("list")
@output_option
def list_(output: str) -> None:
    """List variable keys (values of secret-looking keys masked)."""
    views = _variables().everything()
    rows = [{"key": v.key, "value": v.value, "description": v.description} for v in views]
    emit(rows, output, ["key", "value", "description"])


@variables.command("delete")
@click.argument("key")
def delete(key: str) -> None:
    """Delete a variable."""

    _variables().delete(key)
    click.echo(f"Variable {key} deleted")


@variables.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
def export(file: str) -> None:
    """Write every variable to a JSON file (``-`` for stdout)."""
    data = _variables().export()
    text = json.dumps(data, indent=2, sort_keys=True)
    if file == "-":
        click.echo(text)
        return
    write_private(Path(file), text)
    click.echo(f"{len(data)} variables successfully exported to {file}")


@variables.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_(file: str) -> None:
    """Create or update variables from a JSON file of ``{key: value}``."""
    from tradewind.errors import InvalidInput

    try:
        data = json.loads(Path(file).read_text())
    except ValueError as exc:
        raise InvalidInput(f"{file} is not valid JSON: {exc}") from None
    n = _variables().import_(data)
    click.echo(f"{n} of {n} variables successfully updated.")


def _variables() -> VariableService:
    """The variables' service for this installation (imported when a command runs)."""
    from tradewind.services.variables import VariableService

    return VariableService(get_env())
