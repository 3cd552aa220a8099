"""Shared fixtures: a real Tradewind home per test, its Env, a CLI runner, server checks.

The schema is migrated once per session into a template SQLite file; each test copies it,
which is much faster than running the migration every time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


def server_reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    """True if something accepts TCP connections at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_server(host: str, port: int, name: str) -> None:
    """Skip the test when the server is absent, but fail it when ``CI=true``."""
    if server_reachable(host, port):
        return
    message = f"{name} not reachable at {host}:{port}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the current schema and the default pool, copied by ``tw_home``."""
    from tradewind.metastore.database import Database
    from tradewind.services.queueing import ensure_default_pool

    path = tmp_path_factory.mktemp("template") / "tradewind.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    with db.session() as s:
        ensure_default_pool(s)
    db.engine.dispose()
    import sqlite3

    # Fold the write-ahead log into the file, so that copying the one file copies everything.
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    return path


def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop settings from the caller's environment so each test sees only its own home."""
    for name in list(os.environ):
        if name.startswith("TRADEWIND"):
            monkeypatch.delenv(name)


@pytest.fixture
def tw_home(tmp_path: Path, migrated_template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Tradewind home: config file, migrated SQLite metastore, empty ``dags`` folder.

    ``TRADEWIND_HOME`` points at it for the duration of the test.
    """
    from tradewind.services.install import write_config_file
    from tradewind.settings import load_settings

    _clean_environment(monkeypatch)
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(migrated_template, home / "tradewind.db")
    monkeypatch.setenv("TRADEWIND_HOME", str(home))
    settings = load_settings(home)
    write_config_file(settings)
    settings.dags_folder.mkdir(parents=True, exist_ok=True)
    return home


@pytest.fixture
def env(tw_home: Path) -> Iterator[Any]:
    """The services' Env of ``tw_home`` (closed at the end of the test)."""
    from tradewind.services.env import Env
    from tradewind.settings import load_settings

    environment = Env.from_settings(load_settings(tw_home))
    yield environment
    environment.db.engine.dispose()


@pytest.fixture
def cli_runner(tw_home: Path) -> Callable[..., Any]:
    """Run ``tradewind ARGS...`` in process; fail the test on an unexpected exit code.

    Usage: ``result = cli_runner("dags", "list", "-o", "json")``; pass ``expect=1`` for a
    failure, ``input="y\\n"`` for prompts, ``env={...}`` for extra environment variables.
    """
    from click.testing import CliRunner

    from tradewind.cli.main import cli

    runner = CliRunner()

    def run(
        *args: str,
        expect: int | None = 0,
        input: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Any:
        environment = {"TRADEWIND_HOME": str(tw_home), **(env or {})}
        result = runner.invoke(cli, list(args), input=input, env=environment, catch_exceptions=True)
        if expect is not None and result.exit_code != expect:
            detail = ""
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                import traceback

                detail = "".join(traceback.format_exception(result.exception))
            pytest.fail(
                f"tradewind {' '.join(args)} exited {result.exit_code}, expected {expect}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\n{detail}"
            )
        return result

    return run


@contextlib.contextmanager
def served_app(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port in a thread; yield its URL."""
    import threading

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            thread.join(0.02)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
