"""SQLExecuteQueryOperator: run SQL on any SQL connection; results go to XCom (size-capped)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from tradewind.sdk.baseoperator import BaseOperator

log = logging.getLogger("tradewind.task")
DEFAULT_XCOM_BYTES = 48_000


def jsonable_cell(value: Any) -> Any:
    """Turn a database value into JSON (dates as ISO strings, decimals as floats...)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def cap_rows(rows: list[Any], max_bytes: int) -> list[Any]:
    """Keep the first rows whose JSON fits in ``max_bytes``; log when rows are dropped."""
    out: list[Any] = []
    size = 2
    for row in rows:
        item = (
            [jsonable_cell(v) for v in row] if isinstance(row, list | tuple) else jsonable_cell(row)
        )
        size += len(json.dumps(item)) + 1
        if size > max_bytes:
            log.warning(
                "Only the first %d of %d rows are pushed to XCom (limit %d bytes)",
                len(out),
                len(rows),
                max_bytes,
            )
            break
        out.append(item)
    return out


class SQLExecuteQueryOperator(BaseOperator):
    """Run one or many SQL statements; the last (or every) result is returned to XCom.

    Args:
        conn_id: a connection of type sqlite, postgres, mysql or mariadb.
        sql: a statement, a list of statements, or a ``.sql`` template file next to the DAG.
        parameters: named (dict, ``:name``) or positional (driver paramstyle) parameters.
        split_statements: split a script on ``;`` and run each statement.
        return_last: push only the last statement's rows (else a list per statement).
        handler: turns each result into the value kept (default: all rows as lists).
        max_xcom_bytes: results larger than this are truncated before the XCom push.
    """

    template_fields: Sequence[str] = ("sql", "parameters", "conn_id")
    template_ext: Sequence[str] = (".sql", ".json")
    template_fields_renderers = {"sql": "sql", "parameters": "json"}
    ui_color = "#cdaaed"

    def __init__(
        self,
        *,
        sql: str | list[str],
        conn_id: str = "sql_default",
        parameters: Mapping[str, Any] | Sequence[Any] | None = None,
        split_statements: bool = False,
        return_last: bool = True,
        handler: Callable[[Any], Any] | None = None,
        autocommit: bool = True,
        show_return_value_in_logs: bool = False,
        max_xcom_bytes: int = DEFAULT_XCOM_BYTES,
        database: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sql = sql
        self.conn_id = conn_id
        self.parameters = parameters
        self.split_statements = split_statements
        self.return_last = return_last
        self.handler = handler
        self.autocommit = autocommit
        self.show_return_value_in_logs = show_return_value_in_logs
        self.max_xcom_bytes = max_xcom_bytes
        self.database = database

    def get_hook(self) -> Any:
        from tradewind.hooks.sql import SqlHook

        hook = SqlHook(self.conn_id)
        if self.database:
            hook.connection.schema = self.database
        return hook

    def execute(self, context: dict[str, Any]) -> Any:
        from tradewind.hooks.sql import fetch_all_handler

        hook = self.get_hook()
        log.info(
            "Running SQL on %s: %s",
            self.conn_id,
            self.sql if isinstance(self.sql, str) else "; ".join(self.sql),
        )
        try:
            results = hook.run(
                self.sql,
                self.parameters,
                handler=self.handler or fetch_all_handler,
                split_statements=self.split_statements,
                return_last=self.return_last,
            )
        finally:
            hook.dispose()
        if not self.do_xcom_push:
            return None
        value = self._capped(results)
        if self.show_return_value_in_logs:
            log.info("Result: %s", value)
        return value

    def _capped(self, results: Any) -> Any:
        if results is None:
            return None
        if self.return_last or isinstance(self.sql, str) and not self.split_statements:
            return (
                cap_rows(list(results), self.max_xcom_bytes)
                if isinstance(results, list)
                else jsonable_cell(results)
            )
        share = max(self.max_xcom_bytes // max(len(results), 1), 64)
        return [cap_rows(list(r), share) if isinstance(r, list) else r for r in results]
