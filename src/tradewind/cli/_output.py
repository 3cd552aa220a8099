"""Print rows as a rich table, JSON, YAML or plain columns (``-o table|json|yaml|plain``).

JSON and YAML are for scripts: no markup, dates as ISO 8601 strings, one list of objects.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import click

FORMATS = ("table", "json", "yaml", "plain")
F = TypeVar("F", bound=Callable[..., Any])


def output_option(func: F) -> F:
    """Add ``-o/--output table|json|yaml|plain`` to a command."""
    return click.option(
        "-o",
        "--output",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="Output format; json and yaml are meant for scripts.",
    )(func)


def jsonable(value: Any) -> Any:
    """Turn a value into plain JSON types (ISO dates, enum values, lists, dicts)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def _cell(value: Any) -> str:
    value = jsonable(value)
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def console(stderr: bool = False) -> Any:
    """A rich console writing to the current stdout (so CliRunner captures it)."""
    from rich.console import Console

    # sys.stdout is looked up at call time: CliRunner swaps it for its capture.
    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not stream.isatty():
        # Piped or captured output is read whole, not on an 80-column screen.
        width = int(os.environ.get("COLUMNS") or 200)
    return Console(file=stream, highlight=False, soft_wrap=False, width=width)


def emit(
    rows: Iterable[Mapping[str, Any]],
    fmt: str,
    columns: Sequence[str] | None = None,
    *,
    title: str | None = None,
) -> None:
    """Print ``rows`` (dicts) in ``fmt``; ``columns`` picks and orders the keys shown."""
    rows = [dict(r) for r in rows]
    if columns is None:
        columns = list(rows[0].keys()) if rows else []
    picked = [{c: jsonable(r.get(c)) for c in columns} for r in rows]
    if fmt == "json":
        click.echo(json.dumps(picked, indent=2, default=str))
    elif fmt == "yaml":
        import yaml

        click.echo(yaml.safe_dump(picked, sort_keys=False, default_flow_style=False), nl=False)
    elif fmt == "plain":
        _plain(picked, columns)
    else:
        _table(picked, columns, title)


def emit_one(record: Mapping[str, Any], fmt: str) -> None:
    """Print one object: a two-column property table, or a JSON/YAML object."""
    if fmt == "json":
        click.echo(json.dumps(jsonable(dict(record)), indent=2, default=str))
    elif fmt == "yaml":
        import yaml

        click.echo(yaml.safe_dump(jsonable(dict(record)), sort_keys=False), nl=False)
    else:
        emit(({"property": k, "value": v} for k, v in record.items()), fmt, ["property", "value"])


def _plain(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    cells = [list(columns)] + [[_cell(r[c]) for c in columns] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    for line in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())


def _table(rows: list[dict[str, Any]], columns: Sequence[str], title: str | None) -> None:
    from rich.markup import escape
    from rich.table import Table

    out = console()
    if not rows:
        out.print("No data found")
        return
    table = Table(title=title, show_lines=False)
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*(_styled(c, escape(_cell(r[c]))) for c in columns))
    out.print(table)


STATE_COLORS = {
    "success": "green",
    "failed": "red",
    "upstream_failed": "dark_orange",
    "running": "bright_green",
    "queued": "grey50",
    "scheduled": "tan",
    "up_for_retry": "gold1",
    "skipped": "hot_pink",
    "removed": "grey70",
    "deferred": "medium_purple",
    "restarting": "violet",
    "up_for_reschedule": "turquoise2",
}


def _styled(column: str, text: str) -> str:
    """Colour state cells; other cells are shown as they are."""
    if column == "state" and text in STATE_COLORS:
        return f"[{STATE_COLORS[text]}]{text}[/]"
    return text


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (an export that holds secrets)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
