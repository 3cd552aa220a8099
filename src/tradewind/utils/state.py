"""``from tradewind.utils.state import State, TaskInstanceState, DagRunState``."""

from tradewind.core.states import DagRunState, TaskInstanceState

State = TaskInstanceState
__all__ = ["DagRunState", "State", "TaskInstanceState"]
