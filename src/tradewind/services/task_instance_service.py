"""The task instances' use cases, bound to the environment (the CLI and the UI call them).

Each call is one transaction; a change (clear, mark) is event-logged with its user by
``services/task_instances.py`` and wakes the schedulers.
"""

from __future__ import annotations

from typing import Any

from tradewind.metastore.tables import TaskInstance
from tradewind.services import task_instances as ops
from tradewind.services.env import Env


class TaskInstanceService:
    """Read, clear and mark task instances."""

    def __init__(self, env: Env):
        self.env = env

    def get(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> TaskInstance:
        """One task instance; raise NotFound."""
        with self.env.db.session(readonly=True) as session:
            return ops.get_task_instance(session, dag_id, run_id, task_id, map_index)

    def of_run(self, dag_id: str, run_id: str) -> list[TaskInstance]:
        """Every task instance of a run, in task id order; raise NotFound for an unknown run."""
        from tradewind.services.runs import task_states

        with self.env.db.session(readonly=True) as session:
            return task_states(session, dag_id, run_id)

    def clear(
        self, dag_id: str, *, dry_run: bool = False, user: str | None = None, **options: Any
    ) -> list[TaskInstance]:
        """Reset the task instances ``options`` select (as :func:`clear_task_instances`) so
        they run again, and wake the schedulers; with ``dry_run`` only say which."""
        with self.env.db.session(readonly=dry_run) as session:
            found = ops.clear_task_instances(
                session, dag_id, now=self.env.now(), dry_run=dry_run, user=user, **options
            )
        if not dry_run:
            self.env.wake()
        return found

    def browse(self, *, limit: int, offset: int, **filters: Any) -> tuple[list[TaskInstance], bool]:
        """Task instances newest first, filtered (``dag_id``, ``state``, ``start_after``,
        ``start_before``); whether more follow (no COUNT over a big table)."""
        from tradewind.services.ui_queries import browse_task_instances

        with self.env.db.session(readonly=True) as session:
            return browse_task_instances(session, limit=limit, offset=offset, **filters)
