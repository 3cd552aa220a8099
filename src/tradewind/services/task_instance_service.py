"""The task instances' use cases, bound to the environment (the CLI and the UI call them).

Each call is one transaction; a change (clear, mark) is event-logged with its user by
``services/task_instances.py`` and wakes the schedulers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradewind.metastore.tables import TaskInstance
from tradewind.services import task_instances as ops
from tradewind.services.env import Env

if TYPE_CHECKING:
    from tradewind.metastore.tables import DagRun
    from tradewind.services.listings import Listed


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

    def mark(
        self, dag_id: str, run_id: str, task_id: str, state: str, **options: Any
    ) -> list[TaskInstance]:
        """Mark a task instance success, failed or skipped by hand (audited), with
        ``options`` as :func:`set_ti_state`'s (user, downstream, upstream, map_index), and
        wake the schedulers."""
        with self.env.db.session() as session:
            found = ops.set_ti_state(
                session, dag_id, run_id, task_id, state, now=self.env.now(), **options
            )
        self.env.wake()
        return found

    def mark_run(self, dag_id: str, run_id: str, state: str, *, user: str | None = None) -> None:
        """Mark a whole run success or failed, or ``queued`` to run it again (audited), and
        wake the schedulers."""
        with self.env.db.session() as session:
            ops.set_run_state(session, dag_id, run_id, state, now=self.env.now(), user=user)
        self.env.wake()

    def browse(self, *, limit: int, offset: int, **filters: Any) -> tuple[list[TaskInstance], bool]:
        """Task instances newest first, filtered (``dag_id``, ``state``, ``start_after``,
        ``start_before``); whether more follow (no COUNT over a big table)."""
        from tradewind.services.ui_queries import browse_task_instances

        with self.env.db.session(readonly=True) as session:
            return browse_task_instances(session, limit=limit, offset=offset, **filters)

    def detail(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1
    ) -> tuple[TaskInstance | None, list[Any], list[Any], Any]:
        """A task instance (None if absent), its finished tries, its XComs, and its task in
        the DAG version it ran (None when that version or task is gone)."""
        from tradewind.errors import NotFound
        from tradewind.services.dag_store import get_serialized_dag
        from tradewind.services.ui_queries import ti_detail

        with self.env.db.session(readonly=True) as session:
            ti, tries, xcoms = ti_detail(session, dag_id, run_id, task_id, map_index)
            if ti is None:
                return None, tries, xcoms, None
            try:
                task = get_serialized_dag(session, dag_id, ti.dag_version).tasks.get(task_id)
            except NotFound:
                task = None
            return ti, tries, xcoms, task

    def mapped(self, dag_id: str, run_id: str, task_id: str) -> list[Any]:
        """The instances of a mapped task in one run, by map index (the columns lists show)."""
        from tradewind.services.ui_queries import mapped_instances

        with self.env.db.session(readonly=True) as session:
            return mapped_instances(session, dag_id, run_id, task_id)

    def with_run(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1
    ) -> tuple[TaskInstance, DagRun]:
        """One task instance with its run, ``(ti, run)``; raise NotFound (the REST API's
        message)."""
        from tradewind.services.queries import get_task_instance

        with self.env.db.session(readonly=True) as session:
            return get_task_instance(session, dag_id, run_id, task_id, map_index)

    def with_tries(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1
    ) -> tuple[TaskInstance, list[Any]]:
        """A task instance and its finished earlier tries (``task_instance_history`` rows),
        oldest first; raise NotFound (the REST API's message)."""
        from tradewind.services.queries import get_task_instance, ti_tries

        with self.env.db.session(readonly=True) as session:
            ti, _run = get_task_instance(session, dag_id, run_id, task_id, map_index)
            return ti, ti_tries(session, ti)

    def page(self, where: list[Any], paging: Any) -> Listed[tuple[TaskInstance, DagRun]]:
        """One page (``queries.Paging``) of ``(ti, run)`` rows matching ``where``, with their
        labels (``listings.Listed``)."""
        from tradewind.services.listings import Listed, ti_labels
        from tradewind.services.queries import list_task_instances

        with self.env.db.session(readonly=True) as session:
            found = list_task_instances(session, where, paging)
            return Listed(found.items, found.total, ti_labels(session, found.items))
