"""Engine, sessions (units of work) and schema management (Alembic) of the metastore."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from tradewind.errors import ConfigError, TradewindError
from tradewind.metastore.tables import Base

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
log = logging.getLogger("tradewind.metastore")


def _normalize_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("mysql://"):
        return "mysql+pymysql://" + url.split("://", 1)[1]
    return url


def _sqlite_setup(engine: Engine) -> None:
    """WAL, NORMAL sync and a busy timeout; writers take the lock at BEGIN (no upgrade deadlocks)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("tw_readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


PING_AFTER_IDLE = 5.0

#: A pooled SQLite connection is reopened after this many seconds: SQLite reads the planner
#: statistics (``sqlite_stat1``) when a connection loads the schema, so a connection opened
#: before another process's ``ANALYZE`` would keep planning with the old table sizes.
SQLITE_RECYCLE_SEC = 600

#: ``refresh_statistics_if_grown`` re-analyzes when a table's rows (its largest rowid, a
#: look-up) are this many times what ``sqlite_stat1`` holds, and at least ``STATS_MIN_ROWS``.
STATS_GROWTH = 2
STATS_MIN_ROWS = 1000


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only if it sat idle for ``PING_AFTER_IDLE`` s.

    ``pool_pre_ping`` would cost a round trip to the server on every checkout (every session
    of every execution-API call); a connection in steady use is proved alive by that use, and
    the one that slept through a server restart is the one that needs the check. A dead one
    is replaced transparently (``DisconnectionError`` makes the pool connect anew).
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_conn: Any, record: Any) -> None:
        record.info["tw_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("tw_idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            cursor = dbapi_conn.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            dbapi_conn.rollback()
        except Exception as exc:  # noqa: BLE001 - any failure means: use another connection
            raise DisconnectionError(f"stale pooled connection: {exc}") from exc


class Database:
    """One metastore: an engine, a session factory, and its migrations.

    Use ``with db.session() as s:``; the block commits on success and rolls back on error.
    """

    def __init__(self, url: str, *, pool_size: int = 5, echo: bool = False):
        self.url = _normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            path = self.url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if path and path != ":memory:":  # an in-memory database lives in its connection
                kwargs["pool_recycle"] = SQLITE_RECYCLE_SEC
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = 10
        try:
            self.engine = create_engine(self.url, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a bad URL or a missing driver
            raise ConfigError(f"database.sql_alchemy_conn {url!r}: {exc}") from None
        if self.is_sqlite:
            _sqlite_setup(self.engine)
        else:
            _ping_when_idle(self.engine)
        self._factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._ro_factory = sessionmaker(
            bind=self.engine.execution_options(tw_readonly=True), expire_on_commit=False
        )
        self.dialect = self.engine.dialect.name

    @contextmanager
    def session(self, readonly: bool = False) -> Iterator[Session]:
        """A unit of work: commit at the end of the block, roll back on error."""
        s = (self._ro_factory if readonly else self._factory)()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def dispose(self) -> None:
        """Close pooled connections (call in a child process after fork)."""
        self.engine.dispose(close=False)

    # -- schema ------------------------------------------------------------------------------
    def _alembic_config(self) -> Any:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return cfg

    def migrate(self) -> None:
        """Bring the schema to the newest migration (creates it on an empty database)."""
        if self._is_current():
            return  # the common case; skips loading Alembic (a few hundred ms)
        from alembic import command

        cfg = self._alembic_config()
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def refresh_statistics(self) -> None:
        """SQLite: sample every index (``ANALYZE`` with ``analysis_limit``, milliseconds at a
        million rows) so the planner knows the tables' sizes. Without ``sqlite_stat1`` it
        assumes every table is equally big and, for the task-instance list by logical date,
        scans every task instance instead of walking the runs' date index. PostgreSQL keeps
        its own statistics (autovacuum); a busy SQLite file is left for the next start."""
        if self.engine.dialect.name != "sqlite":
            return
        try:
            with self.engine.begin() as conn:
                conn.exec_driver_sql("PRAGMA analysis_limit=1000")
                conn.exec_driver_sql("ANALYZE")
        except Exception as exc:  # noqa: BLE001 - statistics are an optimisation only
            log.warning("could not refresh the SQLite statistics: %s", exc)

    def refresh_statistics_if_grown(self) -> bool:
        """SQLite: ``refresh_statistics`` when a table has grown past what the planner knows.

        A look-up of each table's largest rowid against the row count in ``sqlite_stat1``
        (microseconds), confirmed by a COUNT where the rowid says grown (deleted rows leave
        gaps); the ``ANALYZE`` it may start samples (milliseconds at a million rows).
        Other processes' connections see the new statistics when they reopen
        (``SQLITE_RECYCLE_SEC``). The scheduler calls this periodically. True when it ran.
        """
        if self.engine.dialect.name != "sqlite":
            return False
        try:
            with self.engine.execution_options(tw_readonly=True).connect() as conn:
                known = _analyzed_rows(conn)
                grown = [
                    name
                    for name in Base.metadata.tables
                    if _grew(_rows(conn, name, "max(rowid)"), known.get(name))
                    and _grew(_rows(conn, name, "count(*)"), known.get(name))
                ]
        except Exception as exc:  # noqa: BLE001 - statistics are an optimisation only
            log.warning("could not read the SQLite statistics: %s", exc)
            return False
        if not grown:
            return False
        log.info("refreshing the SQLite statistics (grown: %s)", ", ".join(grown))
        self.refresh_statistics()
        return True

    def _is_current(self) -> bool:
        """True when the recorded revision is the newest file's (revision ids are ``NNNN``)."""
        files = sorted(
            p.name.split("_", 1)[0] for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py")
        )
        if not files:
            return False
        try:
            with self.engine.connect() as conn:
                row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        except Exception:  # noqa: BLE001 - no table yet: not migrated
            return False
        return row is not None and row[0] == files[-1]

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def check(self) -> None:
        """Raise TradewindError unless the database answers and its schema is current."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001
            raise TradewindError(f"cannot reach the metastore at {self.safe_url}: {exc}") from None
        if self._is_current():
            # Without Alembic: importing it (and Mako, Pygments, the migration scripts) cost
            # every process that checks ~16 MiB of its own (#17: PSS of the idle set).
            return
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            raise TradewindError(
                f"the metastore schema is at {current or 'nothing'}, expected {head}: "
                "run `tradewind db migrate`"
            )

    def reset(self) -> None:
        """Drop every table (ours and Alembic's), then migrate from scratch."""
        with self.engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        self.migrate()

    def table_names(self) -> list[str]:
        return inspect(self.engine).get_table_names()

    @property
    def safe_url(self) -> str:
        """The URL with any password replaced by ***."""
        return self.engine.url.render_as_string(hide_password=True)


def sqlite_path(url: str) -> str | None:
    """Return the file path of a SQLite URL, or None for other databases."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    return os.path.abspath(path) if path else None


def _analyzed_rows(conn: Any) -> dict[str, int]:
    """Rows per table as the last ``ANALYZE`` counted them (empty before the first)."""
    try:
        rows = conn.exec_driver_sql("SELECT tbl, stat FROM sqlite_stat1").all()
    except Exception:  # noqa: BLE001 - no sqlite_stat1 yet: never analyzed
        conn.rollback()
        return {}
    out: dict[str, int] = {}
    for table, stat in rows:
        first = str(stat or "").split(" ", 1)[0]
        if first.isdigit():
            out[table] = max(out.get(table, 0), int(first))
    return out


def _rows(conn: Any, table: str, aggregate: str) -> int:
    return int(conn.exec_driver_sql(f'SELECT {aggregate} FROM "{table}"').scalar() or 0)


def _grew(rows: int, analyzed: int | None) -> bool:
    return rows >= STATS_MIN_ROWS and rows > STATS_GROWTH * (analyzed or 0)
