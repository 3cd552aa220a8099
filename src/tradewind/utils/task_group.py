"""``from tradewind.utils.task_group import TaskGroup``."""

from tradewind.sdk.taskgroup import TaskGroup

__all__ = ["TaskGroup"]
