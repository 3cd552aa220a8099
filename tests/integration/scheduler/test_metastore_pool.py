"""The metastore's connection pool on PostgreSQL: a connection that died while idle is replaced."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from tradewind.metastore import database

from .conftest import _pg_database

pytestmark = [pytest.mark.postgres]


def test_a_pooled_connection_killed_while_idle_is_replaced_not_failed(monkeypatch) -> None:
    monkeypatch.setattr(database, "PING_AFTER_IDLE", 0.2)
    import psycopg

    for url in _pg_database():
        db = database.Database(url)
        try:
            with db.engine.connect() as conn:
                pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
            # The server ends that backend (a restart, an idle timeout, a failover...).
            with psycopg.connect(
                "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True
            ) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            time.sleep(0.4)
            with db.session() as s:  # the next unit of work just works, on a new connection
                assert s.execute(text("SELECT pg_backend_pid()")).scalar() != pid
        finally:
            db.engine.dispose()
