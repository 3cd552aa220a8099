"""``from tradewind.decorators import task, dag`` (as ``airflow.decorators``)."""

from tradewind.sdk.dag import dag
from tradewind.sdk.decorators import setup, task, teardown
from tradewind.sdk.taskgroup import task_group

__all__ = ["dag", "setup", "task", "task_group", "teardown"]
