"""SqlHook: SQL databases (SQLite, PostgreSQL, MySQL/MariaDB) through SQLAlchemy engines.

SQLAlchemy is imported inside methods, so DAG files can import this module cheaply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from tradewind.errors import InvalidInput
from tradewind.hooks.base import BaseHook, Connection

_DRIVERS = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
}
Params = Mapping[str, Any] | Sequence[Any] | None


def split_sql(sql: str) -> list[str]:
    """Split a script on ``;`` outside quotes and comments; drop empty statements."""
    out, buf, quote, i = [], [], "", 0
    while i < len(sql):
        ch = sql[i]
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
            buf.append(ch)
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = len(sql) if end < 0 else end
            continue
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = len(sql) if end < 0 else end + 2
            continue
        elif ch == ";":
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    out.append("".join(buf))
    return [s.strip() for s in out if s.strip()]


def fetch_all_handler(cursor: Any) -> list[tuple[Any, ...]] | None:
    """Return every row as a tuple, or None for statements that return no rows."""
    if not cursor.returns_rows:
        return None
    return [tuple(r) for r in cursor.fetchall()]


def fetch_one_handler(cursor: Any) -> tuple[Any, ...] | None:
    """Return the first row as a tuple, or None."""
    if not cursor.returns_rows:
        return None
    row = cursor.fetchone()
    return tuple(row) if row is not None else None


class SqlHook(BaseHook):
    """Run SQL on a connection of type sqlite, postgres, mysql or mariadb.

    Args:
        conn_id: the connection to use.
        connection: a Connection object instead of an id (tests, ``connections test``).
        engine_kwargs: extra keyword arguments for ``sqlalchemy.create_engine``.
    """

    conn_name_attr = "conn_id"
    default_conn_name = "sql_default"

    def __init__(
        self,
        conn_id: str | None = None,
        *,
        connection: Connection | None = None,
        engine_kwargs: dict[str, Any] | None = None,
    ):
        if conn_id is None and connection is None:
            raise InvalidInput("SqlHook needs a conn_id or a connection")
        self.conn_id = conn_id or (connection.conn_id if connection else "")
        self._connection = connection
        self.engine_kwargs = engine_kwargs or {}
        self._engine: Any = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = self.get_connection(self.conn_id)
        return self._connection

    @property
    def dialect_name(self) -> str:
        return str(self.get_sqlalchemy_engine().dialect.name)

    def get_uri(self) -> Any:
        """Return the SQLAlchemy URL of the connection."""
        from sqlalchemy.engine import URL

        c = self.connection
        if c.conn_type == "sqlite":
            return URL.create("sqlite", database=c.host or c.schema or ":memory:")
        driver = _DRIVERS.get(c.conn_type)
        if driver is None:
            raise InvalidInput(
                f"connection {c.conn_id!r}: conn_type {c.conn_type!r} is not a SQL database"
            )
        query = {
            k: str(v)
            for k, v in c.extra_dejson.items()
            if k in ("sslmode", "charset", "connect_timeout")
        }
        return URL.create(
            driver,
            username=c.login,
            password=c.password,
            host=c.host,
            port=c.port,
            database=c.schema,
            query=query,
        )

    def get_sqlalchemy_engine(self) -> Any:
        """Return this hook's engine (created on first use)."""
        if self._engine is None:
            from sqlalchemy import create_engine

            self._engine = create_engine(self.get_uri(), **self.engine_kwargs)
        return self._engine

    def get_conn(self) -> Any:
        """Return a raw DB-API connection (the caller closes it)."""
        return self.get_sqlalchemy_engine().raw_connection()

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # -- running statements -------------------------------------------------------------
    @staticmethod
    def _execute(conn: Any, sql: str, parameters: Params) -> Any:
        if parameters is None:
            if conn.dialect.paramstyle in ("format", "pyformat"):
                sql = sql.replace("%", "%%")  # the driver formats even without parameters
            return conn.exec_driver_sql(sql)
        if isinstance(parameters, Mapping):
            from sqlalchemy import text

            return conn.execute(text(sql), dict(parameters))
        return conn.exec_driver_sql(sql, tuple(parameters))

    def run(
        self,
        sql: str | Sequence[str],
        parameters: Params = None,
        *,
        handler: Callable[[Any], Any] | None = None,
        split_statements: bool = False,
        return_last: bool = True,
        autocommit: bool = True,
    ) -> Any:
        """Run one or many statements in one transaction; return the handler's result(s).

        Args:
            sql: a statement, a script (with ``split_statements``), or a list of statements.
            parameters: named (dict, ``:name``) or positional (sequence, driver paramstyle).
            handler: called with each statement's result (e.g. :func:`fetch_all_handler`).
            return_last: return only the last statement's handler result.
        """
        statements = [sql] if isinstance(sql, str) else list(sql)
        if split_statements:
            statements = [s for part in statements for s in split_sql(part)]
        if not statements:
            raise InvalidInput("no SQL statement to run")
        results = []
        with self.get_sqlalchemy_engine().begin() as conn:
            for statement in statements:
                result = self._execute(conn, statement, parameters)
                results.append(handler(result) if handler is not None else None)
                result.close()
        if handler is None:
            return None
        return results[-1] if return_last else results

    def get_records(self, sql: str, parameters: Params = None) -> list[tuple[Any, ...]]:
        """Return every row of a query as tuples."""
        return self.run(sql, parameters, handler=fetch_all_handler) or []

    def get_first(self, sql: str, parameters: Params = None) -> tuple[Any, ...] | None:
        """Return the first row of a query, or None."""
        return self.run(sql, parameters, handler=fetch_one_handler)  # type: ignore[no-any-return]

    def stream(
        self, sql: str, batch_size: int = 10_000, parameters: Params = None
    ) -> Iterator[list[Any]]:
        """Yield the rows of a query in lists of ``batch_size``, with a server-side cursor.

        Memory stays bounded by one batch whatever the table size. Rows are SQLAlchemy
        ``Row`` objects (tuples; ``row._fields`` names the columns).
        """
        engine = self.get_sqlalchemy_engine()
        with engine.connect() as conn:
            conn = conn.execution_options(
                stream_results=True, max_row_buffer=batch_size, yield_per=batch_size
            )
            result = self._execute(conn, sql, parameters)
            try:
                yield from (list(part) for part in result.partitions(batch_size))
            finally:
                result.close()

    def insert_rows(
        self,
        table: str,
        rows: Iterable[Sequence[Any]] | Iterable[Mapping[str, Any]],
        target_fields: Sequence[str] | None = None,
        commit_every: int = 1000,
        *,
        replace: bool = False,
    ) -> int:
        """Insert rows in batches of ``commit_every`` (one transaction each); return the count.

        Args:
            table: table name, optionally ``schema.table``.
            rows: any iterable (a generator keeps memory bounded).
            target_fields: column names; required unless every row is a mapping.
            replace: REPLACE/INSERT OR REPLACE (MySQL, SQLite) instead of INSERT.
        """
        from sqlalchemy import column, insert
        from sqlalchemy import table as table_

        total = 0
        batch: list[dict[str, Any]] = []
        stmt = None
        names = list(target_fields) if target_fields else None
        engine = self.get_sqlalchemy_engine()
        sqlite = engine.dialect.name == "sqlite"
        for row in rows:
            if names is None:
                if not isinstance(row, Mapping):
                    raise InvalidInput("insert_rows needs target_fields when rows are not mappings")
                names = list(row)
            if stmt is None:
                schema, _, name = table.rpartition(".")
                stmt = insert(table_(name, *(column(n) for n in names), schema=schema or None))
                if replace:
                    stmt = _replacing(stmt, engine.dialect.name, names)
            values = dict(row) if isinstance(row, Mapping) else dict(zip(names, row, strict=True))
            if sqlite:
                values = {k: _sqlite_value(v) for k, v in values.items()}
            batch.append(values)
            if len(batch) >= commit_every:
                total += self._flush(engine, stmt, batch)
        if batch and stmt is not None:
            total += self._flush(engine, stmt, batch)
        return total

    @staticmethod
    def _flush(engine: Any, stmt: Any, batch: list[dict[str, Any]]) -> int:
        with engine.begin() as conn:
            conn.execute(stmt, batch)
        n = len(batch)
        batch.clear()
        return n


def _sqlite_value(value: Any) -> Any:
    """SQLite's driver stores no Decimal or datetime: keep them as number and ISO text."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _replacing(stmt: Any, dialect: str, names: list[str]) -> Any:
    """Turn an INSERT into an upsert: rows whose key exists replace the old ones."""
    if dialect == "sqlite":
        return stmt.prefix_with("OR REPLACE")
    if dialect == "mysql":
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        ins = mysql_insert(stmt.table)
        return ins.on_duplicate_key_update({n: ins.inserted[n] for n in names})
    raise InvalidInput(f"insert_rows(replace=True) is not supported on {dialect}")


DbApiHook = SqlHook  # Airflow's base name for SQL hooks
