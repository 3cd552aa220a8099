"""``tradewind config``: show the effective settings and where each comes from."""

from __future__ import annotations

from typing import Any

import click

from tradewind.cli._output import emit, output_option
from tradewind.cli._runtime import get_settings
from tradewind.cli.main import CONTEXT_SETTINGS

_SECRET_WORDS = ("password", "secret", "fernet_key", "token", "_key")
_NOT_SECRET = frozenset({"access_token_expiration_time"})


def is_secret(key: str) -> bool:
    """True for keys whose values ``config list`` hides (as Airflow's sensitive options)."""
    low = key.lower()
    return low not in _NOT_SECRET and any(w in low for w in _SECRET_WORDS)


def _shown(key: str, value: Any) -> Any:
    if is_secret(key) and value not in ("", None):
        return "***"
    return value


@click.group(context_settings=CONTEXT_SETTINGS)
def config() -> None:
    """Show settings."""


@config.command("list", context_settings=CONTEXT_SETTINGS)
@click.option("--section", help="Only this section (e.g. core).")
@click.option("--include-sources", is_flag=True, help="Show where each value comes from.")
@output_option
def list_(section: str | None, include_sources: bool, output: str) -> None:
    """List every setting (secrets are shown as ***; use get-value to read one)."""
    settings = get_settings()
    values = settings.as_dict()
    if section is not None and section not in values:
        raise click.ClickException(
            f"no section [{section}]; sections are: {', '.join(sorted(values))}"
        )
    rows = [
        {
            "section": sec,
            "key": key,
            "value": _shown(key, value),
            "source": settings.sources.get((sec, key), "default"),
        }
        for sec, keys in values.items()
        if section is None or sec == section
        for key, value in keys.items()
    ]
    columns = ["section", "key", "value"] + (["source"] if include_sources else [])
    emit(rows, output, columns)


@config.command("get-value", context_settings=CONTEXT_SETTINGS)
@click.argument("section")
@click.argument("key")
def get_value(section: str, key: str) -> None:
    """Print the value of one setting (secrets too, as Airflow does)."""
    value = get_settings().get(section, key)
    if isinstance(value, bool):
        click.echo("True" if value else "False")
    else:
        click.echo(value)
