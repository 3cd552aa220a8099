"""EmptyOperator: does nothing; a join or a placeholder in the graph."""

from __future__ import annotations

from typing import Any

from tradewind.sdk.baseoperator import BaseOperator


class EmptyOperator(BaseOperator):
    """A task that does nothing (Airflow's ``EmptyOperator``, formerly ``DummyOperator``)."""

    ui_color = "#e8f7e4"

    def execute(self, context: dict[str, Any]) -> None:
        return None


DummyOperator = EmptyOperator
