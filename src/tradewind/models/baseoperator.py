"""``from tradewind.models.baseoperator import BaseOperator, chain`` (as in Airflow 2)."""

from tradewind.sdk.baseoperator import BaseOperator, chain, cross_downstream

__all__ = ["BaseOperator", "chain", "cross_downstream"]
