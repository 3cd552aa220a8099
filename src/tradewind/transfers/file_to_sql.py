"""FileToSqlOperator: load a CSV or JSON-lines file into a table, batch by batch."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

from tradewind.errors import InvalidInput
from tradewind.sdk.baseoperator import BaseOperator

log = logging.getLogger("tradewind.task")


class FileToSqlOperator(BaseOperator):
    """Read ``path`` (CSV with a header, or JSON lines) and insert its rows into ``table``.

    Args:
        path: local path or fsspec URL (templated).
        conn_id: the SQL connection; ``table`` the target (templated).
        file_format: ``csv`` or ``json`` (one object per line).
        columns: columns to load (default: the CSV header / the first JSON object's keys).
        batch_size: rows per insert transaction.
        preoperator: SQL run first (create or truncate the table).
    """

    template_fields = ("path", "table", "preoperator")

    def __init__(
        self,
        *,
        path: str,
        conn_id: str,
        table: str,
        file_format: str = "csv",
        columns: list[str] | None = None,
        batch_size: int = 10_000,
        preoperator: str | None = None,
        fs_conn_id: str | None = None,
        csv_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if file_format not in ("csv", "json"):
            raise InvalidInput(f"task {self.task_id!r}: file_format must be csv or json")
        self.path = path
        self.conn_id = conn_id
        self.table = table
        self.file_format = file_format
        self.columns = columns
        self.batch_size = int(batch_size)
        self.preoperator = preoperator
        self.fs_conn_id = fs_conn_id
        self.csv_kwargs = csv_kwargs or {}

    def _rows(self, f: Any) -> Iterator[dict[str, Any]]:
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        if self.file_format == "csv":
            for row in csv.DictReader(text, **self.csv_kwargs):
                yield {
                    k: (v if v != "" else None)
                    for k, v in row.items()
                    if self.columns is None or k in self.columns
                }
        else:
            for line in text:
                if line.strip():
                    obj = json.loads(line)
                    yield obj if self.columns is None else {k: obj.get(k) for k in self.columns}

    def execute(self, context: dict[str, Any]) -> int:
        from tradewind.hooks.filesystem import FSHook
        from tradewind.hooks.sql import SqlHook

        hook = SqlHook(self.conn_id)
        try:
            if self.preoperator:
                hook.run(self.preoperator, split_statements=True)
            with FSHook(self.fs_conn_id).open(self.path, "rb") as f:
                total = hook.insert_rows(
                    self.table, self._rows(f), self.columns, commit_every=self.batch_size
                )
        finally:
            hook.dispose()
        log.info("Loaded %d rows from %s into %s", total, self.path, self.table)
        return total
