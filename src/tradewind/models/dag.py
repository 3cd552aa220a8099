"""``from tradewind.models.dag import DAG``."""

from tradewind.sdk.dag import DAG

__all__ = ["DAG"]
