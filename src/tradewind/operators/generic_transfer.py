"""GenericTransfer: copy a query's rows from one SQL connection into a table of another."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from tradewind.sdk.baseoperator import BaseOperator

log = logging.getLogger("tradewind.task")


class GenericTransfer(BaseOperator):
    """Stream ``sql`` from ``source_conn_id`` into ``destination_table``, batch by batch.

    Memory holds one batch at a time (server-side cursor on the source), so tables of any
    size move without loading at once.

    Args:
        sql: the source query (templated, or a ``.sql`` file).
        destination_table: target table (``schema.table`` allowed, templated).
        source_conn_id / destination_conn_id: SQL connections.
        preoperator: SQL run on the destination first (e.g. create or truncate the table).
        insert_args: extra keyword arguments of ``insert_rows`` (``replace``, ``target_fields``).
        page_size: rows per batch (read and commit).
    """

    template_fields: Sequence[str] = (
        "source_conn_id",
        "destination_conn_id",
        "sql",
        "destination_table",
        "preoperator",
    )
    template_ext: Sequence[str] = (".sql", ".hql")
    template_fields_renderers = {"preoperator": "sql"}
    ui_color = "#b0f07c"

    def __init__(
        self,
        *,
        sql: str,
        destination_table: str,
        source_conn_id: str,
        destination_conn_id: str,
        preoperator: str | list[str] | None = None,
        insert_args: dict[str, Any] | None = None,
        page_size: int = 10_000,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sql = sql
        self.destination_table = destination_table
        self.source_conn_id = source_conn_id
        self.destination_conn_id = destination_conn_id
        self.preoperator = preoperator
        self.insert_args = insert_args or {}
        self.page_size = int(page_size)

    def execute(self, context: dict[str, Any]) -> int:
        from tradewind.hooks.sql import SqlHook

        source, destination = SqlHook(self.source_conn_id), SqlHook(self.destination_conn_id)
        try:
            if self.preoperator:
                log.info("Running the preoperator on %s", self.destination_conn_id)
                destination.run(
                    self.preoperator, split_statements=isinstance(self.preoperator, str)
                )
            total = 0
            args = dict(self.insert_args)
            fields = args.pop("target_fields", None)
            for batch in source.stream(self.sql, self.page_size):
                names = fields or list(batch[0]._fields)
                total += destination.insert_rows(
                    self.destination_table, batch, names, commit_every=self.page_size, **args
                )
                log.info("Inserted %d rows into %s", total, self.destination_table)
            return total
        finally:
            source.dispose()
            destination.dispose()
