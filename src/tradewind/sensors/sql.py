"""SqlSensor: wait until a query's first cell is truthy."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tradewind.errors import TradewindError
from tradewind.sensors.base import BaseSensorOperator


class SqlSensor(BaseSensorOperator):
    """Run ``sql`` until its first row's first cell passes ``success`` (default: truthy).

    Args:
        conn_id: a SQL connection.
        sql: the query (templated, or a ``.sql`` file).
        parameters: query parameters.
        success / failure: callables on the first cell; ``failure`` returning True fails.
        fail_on_empty: an empty result fails instead of poking again.
    """

    template_fields = ("sql", "parameters")
    template_ext = (".sql",)
    ui_color = "#7c7287"

    def __init__(
        self,
        *,
        conn_id: str,
        sql: str,
        parameters: Mapping[str, Any] | Sequence[Any] | None = None,
        success: Callable[[Any], bool] | None = None,
        failure: Callable[[Any], bool] | None = None,
        fail_on_empty: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.sql = sql
        self.parameters = parameters
        self.success = success
        self.failure = failure
        self.fail_on_empty = fail_on_empty

    def poke(self, context: dict[str, Any]) -> bool:
        from tradewind.hooks.sql import SqlHook

        hook = SqlHook(self.conn_id)
        try:
            row = hook.get_first(self.sql, self.parameters)
        finally:
            hook.dispose()
        if not row:
            if self.fail_on_empty:
                raise TradewindError("SqlSensor: the query returned no row")
            return False
        first = row[0]
        if self.failure is not None and self.failure(first):
            raise TradewindError(f"SqlSensor: the failure criteria is met by {first!r}")
        if self.success is not None:
            return bool(self.success(first))
        return bool(first)
