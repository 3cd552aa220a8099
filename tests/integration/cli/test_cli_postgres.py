"""``dags test`` against the real PostgreSQL server, in a database of its own."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import require_server
from tests.integration.cli.dag_sources import BRANCHY, write_dag

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh database ``tw_cli_<random>``, dropped at the end."""
    require_server("127.0.0.1", 5432, "PostgreSQL")
    import psycopg

    name = f"tw_cli_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.postgres
def test_dags_test_on_postgres(cli_runner, tw_home: Path, pg_url: str) -> None:
    env = {"TRADEWIND__DATABASE__SQL_ALCHEMY_CONN": pg_url}
    assert "postgresql" in cli_runner("db", "init", env=env).stdout
    write_dag(tw_home / "dags", "branchy.py", BRANCHY)
    cli_runner("dags", "test", "branchy", "2026-01-05", "--no-retry-delay", "-q", env=env, expect=1)
    rows = json.loads(
        cli_runner(
            "tasks",
            "states-for-dag-run",
            "branchy",
            "manual__2026-01-05T00:00:00+00:00",
            "-o",
            "json",
            env=env,
        ).stdout
    )
    states = {r["task_id"]: r["state"] for r in rows}
    assert states["flaky"] == "success" and states["right"] == "skipped"
    assert states["after_broken"] == "upstream_failed" and states["cleanup"] == "success"
