"""``from tradewind.decorators import task, dag`` (as ``airflow.decorators``)."""

from tradewind.sdk.dag import dag
from tradewind.sdk.decorators import task
from tradewind.sdk.taskgroup import task_group

__all__ = ["dag", "task", "task_group"]
