"""SqlToFileOperator: write a query's rows to CSV, JSON lines or Parquet, in bounded memory."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

from tradewind.errors import ConfigError, InvalidInput
from tradewind.operators.sql import jsonable_cell
from tradewind.sdk.baseoperator import BaseOperator

log = logging.getLogger("tradewind.task")
FORMATS = ("csv", "json", "parquet")


class SqlToFileOperator(BaseOperator):
    """Stream ``sql`` from ``conn_id`` into ``path`` (local or an fsspec URL).

    Args:
        sql: the query (templated or a ``.sql`` file).
        path: the file to write (templated).
        file_format: ``csv`` (with a header), ``json`` (JSON lines) or ``parquet`` (needs pyarrow).
        batch_size: rows read and written at a time.
        fs_conn_id: optional ``fs`` connection for relative paths and storage options.
    """

    template_fields = ("sql", "path")
    template_ext = (".sql",)

    def __init__(
        self,
        *,
        conn_id: str,
        sql: str,
        path: str,
        file_format: str = "csv",
        batch_size: int = 10_000,
        fs_conn_id: str | None = None,
        csv_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if file_format not in FORMATS:
            raise InvalidInput(
                f"task {self.task_id!r}: file_format must be one of {', '.join(FORMATS)}"
            )
        self.conn_id = conn_id
        self.sql = sql
        self.path = path
        self.file_format = file_format
        self.batch_size = int(batch_size)
        self.fs_conn_id = fs_conn_id
        self.csv_kwargs = csv_kwargs or {}

    def execute(self, context: dict[str, Any]) -> dict[str, Any]:
        from tradewind.hooks.filesystem import FSHook
        from tradewind.hooks.sql import SqlHook

        hook, fs = SqlHook(self.conn_id), FSHook(self.fs_conn_id)
        try:
            batches = hook.stream(self.sql, self.batch_size)
            writer = {
                "csv": self._write_csv,
                "json": self._write_json,
                "parquet": self._write_parquet,
            }[self.file_format]
            with fs.open(self.path, "wb") as f:
                rows = writer(batches, f)
        finally:
            hook.dispose()
        log.info("Wrote %d rows to %s", rows, self.path)
        return {"path": self.path, "rows": rows}

    def _write_csv(self, batches: Iterator[list[Any]], f: Any) -> int:
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        writer = csv.writer(text, **self.csv_kwargs)
        rows = 0
        for batch in batches:
            if rows == 0:
                writer.writerow(batch[0]._fields)
            writer.writerows(batch)
            rows += len(batch)
        text.flush()
        text.detach()
        return rows

    def _write_json(self, batches: Iterator[list[Any]], f: Any) -> int:
        rows = 0
        for batch in batches:
            names = batch[0]._fields
            lines = "".join(
                json.dumps({k: jsonable_cell(v) for k, v in zip(names, row, strict=True)}) + "\n"
                for row in batch
            )
            f.write(lines.encode())
            rows += len(batch)
        return rows

    def _write_parquet(self, batches: Iterator[list[Any]], f: Any) -> int:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ConfigError("Parquet output needs pyarrow: pip install pyarrow") from None
        writer, rows = None, 0
        try:
            for batch in batches:
                names = list(batch[0]._fields)
                table = pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in batch])
                if writer is None:
                    writer = pq.ParquetWriter(f, table.schema)
                writer.write_table(table.cast(writer.schema))
                rows += len(batch)
        finally:
            if writer is not None:
                writer.close()
        return rows
