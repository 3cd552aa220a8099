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
    from sqlalchemy.orm import Session

    from tradewind.metastore.tables import DagRun
    from tradewind.services.listings import Listed

_UNSET: Any = object()


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

    def listing(
        self, where: list[Any], paging: Any, *, dag_id: str, run_id: str
    ) -> Listed[tuple[TaskInstance, DagRun]]:
        """As :meth:`page`, for the REST API's ``.../dagRuns/{run_id}/taskInstances``: raise
        NotFound for an unknown DAG or run first (``~``: any)."""
        from tradewind.services.listings import Listed, ti_labels
        from tradewind.services.queries import list_task_instances

        with self.env.db.session(readonly=True) as session:
            _check_dag_and_run(session, dag_id, run_id)
            found = list_task_instances(session, where, paging)
            return Listed(found.items, found.total, ti_labels(session, found.items))

    def listing_after(
        self, where: list[Any], order_by: Any, limit: int, cursor: str, *, dag_id: str, run_id: str
    ) -> Listed[tuple[TaskInstance, DagRun]]:
        """As :meth:`listing`, by keyset: the ``limit`` rows after ``cursor`` ("" first)."""
        from tradewind.services.listings import Listed, ti_labels
        from tradewind.services.queries import list_task_instances_after

        with self.env.db.session(readonly=True) as session:
            _check_dag_and_run(session, dag_id, run_id)
            found = list_task_instances_after(session, where, order_by, limit, cursor)
            labels = ti_labels(session, found.items)
            return Listed(
                found.items, found.total, labels, found.next_cursor, found.previous_cursor
            )

    def mapped_page(
        self, dag_id: str, run_id: str, task_id: str, where: list[Any], paging: Any
    ) -> Listed[tuple[TaskInstance, DagRun]]:
        """One page of the instances of a mapped task in one run; raise NotFound for an
        unknown DAG or run, or a task that is not mapped."""
        from tradewind.services.dags import get_dag
        from tradewind.services.listings import Listed, ti_labels
        from tradewind.services.queries import check_mapped_task, list_mapped

        with self.env.db.session(readonly=True) as session:
            get_dag(session, dag_id)
            check_mapped_task(session, dag_id, run_id, task_id)
            found = list_mapped(session, where, paging)
            return Listed(found.items, found.total, ti_labels(session, found.items))

    def one(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1
    ) -> Listed[tuple[TaskInstance, DagRun]]:
        """One task instance with its run and labels, as a listing of one; raise NotFound."""
        from tradewind.services.listings import Listed, ti_labels
        from tradewind.services.queries import get_task_instance

        with self.env.db.session(readonly=True) as session:
            rows = [get_task_instance(session, dag_id, run_id, task_id, map_index)]
            return Listed(rows, 1, ti_labels(session, rows))

    def tries(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1
    ) -> tuple[TaskInstance, list[Any], Any, str]:
        """A task instance, its finished earlier tries, the stored DAG version it runs (None
        when gone) and its DAG's display name; raise NotFound."""
        from tradewind.services.queries import (
            dag_versions,
            display_names,
            get_task_instance,
            ti_tries,
        )

        with self.env.db.session(readonly=True) as session:
            ti, _run = get_task_instance(session, dag_id, run_id, task_id, map_index)
            history = ti_tries(session, ti)
            versions = dag_versions(session, [(ti.dag_id, ti.dag_version)])
            name = display_names(session, [dag_id])[dag_id]
        return ti, history, versions.get((ti.dag_id, ti.dag_version or "")), name

    def dependencies(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1
    ) -> list[dict[str, str]]:
        """What keeps a task instance (no state or ``scheduled``) from being scheduled, as
        ``{"name", "reason"}``; raise NotFound."""
        from tradewind.services.queries import get_task_instance
        from tradewind.services.ti_dependencies import failed_dependencies

        with self.env.db.session(readonly=True) as session:
            ti, run = get_task_instance(session, dag_id, run_id, task_id, map_index)
            return failed_dependencies(session, ti, run)

    def patch(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        map_index: int = -1,
        *,
        new_state: str | None = None,
        note: Any = _UNSET,
        upstream: bool = False,
        downstream: bool = False,
        dry_run: bool = False,
        user: str | None = None,
    ) -> Listed[tuple[TaskInstance, DagRun]]:
        """Mark a task instance (and maybe its up/downstream) ``new_state`` and/or set its
        note (audited), then wake the schedulers; the task instances it changed, with their
        runs and labels. With ``dry_run``, what it would change, changing nothing."""
        from tradewind.services import edits
        from tradewind.services.queries import get_task_instance

        now = self.env.now()
        with self.env.db.session() as session:
            ti, _run = get_task_instance(session, dag_id, run_id, task_id, map_index)
            changed = [ti]
            if new_state is not None:
                changed = ops.set_ti_state(
                    session, dag_id, run_id, task_id, new_state, now=now, user=user,
                    downstream=downstream, upstream=upstream, dry_run=dry_run,
                    map_index=map_index,
                )  # fmt: skip
            if note is not _UNSET and not dry_run:
                edits.set_ti_note(
                    session, dag_id, run_id, task_id, map_index, note, now=now, user=user
                )
            found = _listed(session, dag_id, changed, discard=dry_run)
        if not dry_run:
            self.env.wake()
        return found

    def delete(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1, *, user: str | None
    ) -> None:
        """Delete a task instance (audited); raise NotFound."""
        from tradewind.services import edits
        from tradewind.services.queries import get_task_instance

        with self.env.db.session() as session:
            get_task_instance(session, dag_id, run_id, task_id, map_index)
            edits.delete_task_instance(
                session, dag_id, run_id, task_id, map_index, now=self.env.now(), user=user
            )

    def clear_listed(
        self,
        dag_id: str,
        *,
        run_id: str | None = None,
        dry_run: bool = False,
        user: str | None = None,
        **options: Any,
    ) -> Listed[tuple[TaskInstance, DagRun]]:
        """As :meth:`clear` (``run_id`` checked to exist, raise NotFound for it or the DAG),
        the task instances with their runs and labels, as the REST API answers."""
        from tradewind.services.dags import get_dag

        with self.env.db.session() as session:
            get_dag(session, dag_id)
            if run_id is not None:
                _run_of(session, dag_id, run_id)
            cleared = ops.clear_task_instances(
                session, dag_id, now=self.env.now(), run_id=run_id, dry_run=dry_run, user=user,
                **options,
            )  # fmt: skip
            found = _listed(session, dag_id, cleared)
        if not dry_run:
            self.env.wake()
        return found


def _run_of(session: Session, dag_id: str, run_id: str) -> DagRun:
    """The run, or NotFound with the REST API's words."""
    from tradewind.errors import NotFound
    from tradewind.services.runs import get_run

    try:
        return get_run(session, dag_id, run_id)
    except NotFound:
        raise NotFound(
            f"The DagRun with dag_id: `{dag_id}` and run_id: `{run_id}` was not found"
        ) from None


def _check_dag_and_run(session: Session, dag_id: str, run_id: str) -> None:
    from tradewind.services.dags import get_dag
    from tradewind.services.queries import WILDCARD

    if dag_id != WILDCARD:
        get_dag(session, dag_id)
        if run_id != WILDCARD:
            _run_of(session, dag_id, run_id)


def _listed(
    session: Session, dag_id: str, tis: list[TaskInstance], *, discard: bool = False
) -> Listed[tuple[TaskInstance, DagRun]]:
    """Changed task instances as they are now, with their runs and labels; with ``discard``
    the changes are rolled back, the rows keep what they showed."""
    from tradewind.services.listings import Listed, ti_labels
    from tradewind.services.queries import runs_by_id

    session.flush()
    for t in tis:
        session.refresh(t)
    found = runs_by_id(session, dag_id, (t.run_id for t in tis))
    rows = [(t, found[t.run_id]) for t in tis if t.run_id in found]
    listed = Listed(rows, len(rows), ti_labels(session, rows))
    if discard:
        session.expunge_all()  # detached rows are not expired by the rollback
        session.rollback()
    return listed
