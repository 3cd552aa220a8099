"""The CLI's frame: help everywhere, version, db and config commands, error reporting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tradewind.cli.main import cli


def _walk(group: click.Group, ctx: click.Context, path: list[str]) -> list[list[str]]:
    found = [path]
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"{' '.join(path + [name])} is listed but cannot be loaded"
        if isinstance(command, click.Group):
            sub = click.Context(command, info_name=name, parent=ctx)
            found += _walk(command, sub, path + [name])
        else:
            found.append(path + [name])
    return found


def test_dash_h_works_on_every_command() -> None:
    root = click.Context(cli, info_name="tradewind")
    paths = _walk(cli, root, [])
    assert ["dags", "backfill"] in paths and ["pools", "import"] in paths
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(cli, [*path, "-h"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output, path


def test_version_is_printed_without_loading_the_database_layer() -> None:
    code = (
        "import sys; from tradewind.cli.main import main; sys.argv=['tradewind','version'];\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('sqlalchemy' in sys.modules, 'fastapi' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    version, loaded = out.stdout.splitlines()
    assert version.count(".") == 2
    assert loaded == "False False"


def test_db_init_creates_config_and_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("TRADEWIND"):
            monkeypatch.delenv(name)
    home = tmp_path / "fresh"
    result = CliRunner().invoke(cli, ["db", "init"], env={"TRADEWIND_HOME": str(home)})
    assert result.exit_code == 0, result.output
    assert (home / "tradewind.toml").exists()
    assert (home / "tradewind.db").exists()
    assert (home / "dags").is_dir()
    assert str(home / "tradewind.toml") in result.output
    assert oct((home / "tradewind.toml").stat().st_mode & 0o777) == "0o600"
    again = CliRunner().invoke(cli, ["db", "check"], env={"TRADEWIND_HOME": str(home)})
    assert again.exit_code == 0 and "current" in again.output


def test_db_migrate_on_a_fresh_home_writes_the_config_the_webserver_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The README's many-node recipe starts with `db migrate`, not `db init`: the web server
    # and the scheduler then need the secret key it writes.
    for name in list(os.environ):
        if name.startswith("TRADEWIND"):
            monkeypatch.delenv(name)
    home = tmp_path / "fresh"
    result = CliRunner().invoke(cli, ["db", "migrate"], env={"TRADEWIND_HOME": str(home)})
    assert result.exit_code == 0, result.output
    config = (home / "tradewind.toml").read_text()
    assert "secret_key" in config and "fernet_key" in config
    assert f"Wrote the config file {home / 'tradewind.toml'}" in result.output
    again = CliRunner().invoke(cli, ["db", "migrate"], env={"TRADEWIND_HOME": str(home)})
    assert "up to date" in again.output and "Wrote" not in again.output
    assert (home / "tradewind.toml").read_text() == config  # the keys are kept


def test_db_check_fails_on_an_empty_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("TRADEWIND"):
            monkeypatch.delenv(name)
    result = CliRunner().invoke(cli, ["db", "check"], env={"TRADEWIND_HOME": str(tmp_path)})
    assert result.exit_code == 1
    assert "Error:" in result.stderr and "tradewind db migrate" in result.stderr
    assert "Traceback" not in result.output


def test_db_reset_keeps_a_usable_schema(cli_runner) -> None:
    cli_runner("pools", "set", "etl", "3", "ETL jobs")
    cli_runner("db", "reset", "-y")
    pools = cli_runner("pools", "list", "-o", "json").stdout
    assert "etl" not in pools and "default_pool" in pools


def test_db_reset_asks_first(cli_runner) -> None:
    result = cli_runner("db", "reset", input="n\n", expect=1)
    assert "Aborted" in result.output


def test_config_get_value_honours_the_environment(cli_runner) -> None:
    assert cli_runner("config", "get-value", "core", "parallelism").stdout.strip() == "32"
    result = cli_runner(
        "config", "get-value", "core", "parallelism", env={"TRADEWIND__CORE__PARALLELISM": "7"}
    )
    assert result.stdout.strip() == "7"


def test_config_list_hides_secrets_that_get_value_shows(cli_runner) -> None:
    import json

    rows = json.loads(cli_runner("config", "list", "--section", "core", "-o", "json").stdout)
    fernet = next(r for r in rows if r["key"] == "fernet_key")
    assert fernet["value"] == "***"
    real = cli_runner("config", "get-value", "core", "fernet_key").stdout.strip()
    assert len(real) == 44 and real != "***"
    assert real not in cli_runner("config", "list").stdout


def test_unknown_setting_is_a_clean_error(cli_runner) -> None:
    result = cli_runner("config", "get-value", "core", "nope", expect=1)
    assert result.stderr.startswith("Error: unknown setting [core] nope")
    assert "Traceback" not in result.stderr
