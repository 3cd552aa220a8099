"""``tradewind connections ...`` and ``tradewind rotate-fernet-key``.

Passwords are shown as ``***`` in ``get``/``list``; ``export`` writes them in clear (it is
meant for moving connections between installations, as Airflow's does).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tradewind.cli._output import emit, emit_one, output_option, write_private
from tradewind.cli._runtime import get_env

if TYPE_CHECKING:
    from tradewind.services.connection_service import ConnectionService

CONTEXT = {"help_option_names": ["-h", "--help"]}
LIST_COLUMNS = [
    "conn_id",
    "conn_type",
    "description",
    "host",
    "port",
    "schema",
    "login",
    "password",
    "extra",
]


@click.group(context_settings=CONTEXT)
def connections() -> None:
    """Manage connections (credentials of external systems, encrypted at rest)."""


@connections.command("add")
@click.argument("conn_id")
@click.option(
    "--conn-uri", help="The connection as a URI, e.g. postgresql://user:pass@host:5432/db"
)
@click.option("--conn-json", help="The connection as a JSON object of its fields")
@click.option("--conn-type", help="Type (postgres, mysql, sqlite, http, fs...)")
@click.option("--conn-host")
@click.option("--conn-schema")
@click.option("--conn-login")
@click.option("--conn-password")
@click.option("--conn-port", type=int)
@click.option("--conn-extra", help="Extra settings as a JSON object")
@click.option("--conn-description")
def add(
    conn_id: str,
    conn_uri: str | None,
    conn_json: str | None,
    conn_type: str | None,
    conn_host: str | None,
    conn_schema: str | None,
    conn_login: str | None,
    conn_password: str | None,
    conn_port: int | None,
    conn_extra: str | None,
    conn_description: str | None,
) -> None:
    """Add a connection from --conn-uri, --conn-json, or --conn-type and its fields."""
    from tradewind.errors import InvalidInput
    from tradewind.services import connections as service

    if sum(x is not None for x in (conn_uri, conn_json, conn_type)) != 1:
        raise InvalidInput("give exactly one of --conn-uri, --conn-json or --conn-type")
    if conn_uri is not None:
        data = service.parse_uri(conn_id, conn_uri)
    elif conn_json is not None:
        try:
            data = {**json.loads(conn_json), "conn_id": conn_id}
        except ValueError as exc:
            raise InvalidInput(f"--conn-json is not valid JSON: {exc}") from None
    else:
        data = {
            "conn_id": conn_id,
            "conn_type": conn_type,
            "host": conn_host,
            "schema": conn_schema,
            "login": conn_login,
            "password": conn_password,
            "port": conn_port,
            "extra": conn_extra,
        }
    if conn_description is not None:
        data["description"] = conn_description
    _connections().create(data)
    click.echo(f"Successfully added `conn_id`={conn_id} : {_safe_uri(data)}")


def _safe_uri(data: dict[str, Any]) -> str:
    from tradewind.hooks.base import Connection
    from tradewind.services.connections import masked

    return Connection.from_dict(masked(data)).get_uri()


@connections.command("get")
@click.argument("conn_id")
@output_option
def get(conn_id: str, output: str) -> None:
    """Show one connection (password masked)."""
    from tradewind.services.connections import masked

    emit_one(masked(_resolved(conn_id)), output)


@connections.command("list")
@output_option
@click.option("--conn-id", help="Show only this connection")
def list_(output: str, conn_id: str | None) -> None:
    """List stored connections (passwords masked)."""
    rows = [r for r in _connections().everything() if conn_id is None or r["conn_id"] == conn_id]
    emit(rows, output, LIST_COLUMNS)


@connections.command("delete")
@click.argument("conn_id")
def delete(conn_id: str) -> None:
    """Delete a connection."""
    _connections().delete(conn_id)
    click.echo(f"Successfully deleted connection with `conn_id`={conn_id}")


@connections.command("test")
@click.argument("conn_id")
def test(conn_id: str) -> None:
    """Try to reach the system a connection points at (exit 1 on failure)."""
    ok, message = _connections().test(_resolved(conn_id))
    click.echo(f"{'Connection success!' if ok else 'Connection failed!'} {message}")
    if not ok:
        raise SystemExit(1)


@connections.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
def export(file: str) -> None:
    """Write every stored connection to a JSON file (``-`` for stdout), secrets in clear."""
    data = _connections().export()
    text = json.dumps(data, indent=2, sort_keys=True)
    if file == "-":
        click.echo(text)
        return
    write_private(Path(file), text)
    click.echo(f"Connections successfully exported to {file}")


@connections.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--overwrite", is_flag=True, help="Replace connections that exist already")
def import_(file: str, overwrite: bool) -> None:
    """Read connections from a JSON file of ``{conn_id: fields or URI}``."""
    from tradewind.errors import InvalidInput

    try:
        data = json.loads(Path(file).read_text())
    except ValueError as exc:
        raise InvalidInput(f"{file} is not valid JSON: {exc}") from None
    added, skipped = _connections().import_(data, overwrite=overwrite)
    for conn_id in skipped:
        click.echo(f"Could not import connection {conn_id}: connection already exists.")
    click.echo(f"Imported {added} connection(s) from {file}")


@click.command("rotate-fernet-key", context_settings=CONTEXT)
def rotate_fernet_key_command() -> None:
    """Re-encrypt every secret with the first key of ``[core] fernet_key``.

    Set ``fernet_key = "NEW,OLD"``, run this command, then drop OLD.
    """
    counts = _connections().rotate_fernet_key()
    click.echo(
        f"Re-encrypted {counts['connections']} connection(s) and {counts['variables']} variable(s)"
    )


def _connections() -> ConnectionService:
    """The connections' service for this installation (imported when a command runs)."""
    from tradewind.services.connection_service import ConnectionService

    return ConnectionService(get_env())


def _resolved(conn_id: str) -> dict[str, Any]:
    """The connection a task would get (the environment's first), in clear; raise NotFound."""
    from tradewind.errors import NotFound

    data = _connections().resolve(conn_id)
    if data is None:
        raise NotFound(f"connection {conn_id!r} does not exist")
    return data
