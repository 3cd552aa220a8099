"""``RunService``: the DAG-run use cases of the CLI, the UI and the REST API, each one
transaction (#16). The statements they run are the functions of :mod:`services.runs` and
:mod:`services.queries`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from tradewind.errors import NotFound
from tradewind.metastore.tables import DagModel, DagRun, TaskInstance
from tradewind.sdk.serialization import SerializedDag
from tradewind.services.dag_store import get_serialized_dag
from tradewind.services.env import Env
from tradewind.services.runs import (
    find_run_by_logical_date,
    get_run,
    list_runs,
    trigger_run,
)

if TYPE_CHECKING:
    from tradewind.services.listings import Labels, Listed


class RunService:
    """The DAG runs' use cases, bound to the environment: the CLI and the UI call these; each
    call is one transaction, and a new run wakes the schedulers."""

    def __init__(self, env: Env):
        self.env = env

    def trigger(
        self,
        dag_id: str,
        *,
        conf: Any = None,
        run_id: str | None = None,
        logical_date: datetime | None = None,
        user: str | None = None,
        triggered_by: str = "cli",
        note: str | None = None,
    ) -> tuple[DagRun, bool]:
        """Create a manual run of the DAG's latest version (run ids checked against
        ``[scheduler] allowed_run_id_pattern``); return it and whether the DAG is paused."""
        with self.env.db.session() as session:
            run = trigger_run(
                session, dag_id, now=self.env.now(), conf=conf, run_id=run_id,
                logical_date=logical_date, user=user, triggered_by=triggered_by, note=note,
                run_id_pattern=self.env.settings.get("scheduler", "allowed_run_id_pattern"),
            )  # fmt: skip
            paused = bool(session.get(DagModel, dag_id).is_paused)  # type: ignore[union-attr]
        self.env.wake()
        return run, paused

    def of_dag(self, dag_id: str, *, state: str | None = None, limit: int = 100) -> list[DagRun]:
        """The runs of a DAG, newest first; raise NotFound for an unknown DAG."""
        from tradewind.services.dags import get_dag

        with self.env.db.session(readonly=True) as session:
            get_dag(session, dag_id)
            return list_runs(session, dag_id, state=state, limit=limit)

    def get(self, dag_id: str, run_id: str) -> DagRun:
        """One run; raise NotFound."""
        with self.env.db.session(readonly=True) as session:
            return get_run(session, dag_id, run_id)

    def outcome(
        self, dag_id: str, run_id: str, task_ids: list[str]
    ) -> tuple[str, dict[str, Any] | None]:
        """A run's state and, once it ended (success or failed), the ``return_value`` XCom
        of each of ``task_ids`` (None before, or without task ids); raise NotFound."""
        from tradewind.services.xcom import get_xcom

        with self.env.db.session(readonly=True) as session:
            state = str(get_run(session, dag_id, run_id).state)
            if state not in ("success", "failed") or not task_ids:
                return state, None
            return state, {
                task_id: get_xcom(
                    session, dag_id=dag_id, run_id=run_id, task_id=task_id, key="return_value"
                )[1]
                for task_id in task_ids
            }

    def find(self, dag_id: str, run_id: str, logical_date: datetime | None) -> DagRun | None:
        """The run ``run_id``, else the newest run at ``logical_date``, else None."""
        with self.env.db.session(readonly=True) as session:
            try:
                return get_run(session, dag_id, run_id)
            except NotFound:
                pass
            if logical_date is None:
                return None
            return find_run_by_logical_date(session, dag_id, logical_date)

    def browse(
        self, *, limit: int, offset: int, dag_id: str = "", state: str = ""
    ) -> tuple[list[DagRun], bool]:
        """Runs newest first, filtered by DAG and state; whether more follow (no COUNT)."""
        from tradewind.services.ui_queries import browse_runs

        with self.env.db.session(readonly=True) as session:
            return browse_runs(session, dag_id=dag_id, state=state, limit=limit, offset=offset)

    def calendar(self, dag_id: str, since: datetime) -> dict[Any, dict[str, int]]:
        """Per day since ``since``: how many runs of the DAG ended in each state."""
        from tradewind.services.queries.dag_views import run_calendar

        with self.env.db.session(readonly=True) as session:
            return run_calendar(session, dag_id, since)

    def grid(self, dag_id: str, *, limit: int, before_id: int | None = None) -> Any:
        """The grid's runs (``limit``, before ``before_id``) and their task instances' states."""
        from tradewind.services.ui_queries import grid

        with self.env.db.session(readonly=True) as session:
            return grid(session, dag_id, limit=limit, before_id=before_id)

    def live_states(self, dag_id: str, run_ids: list[str]) -> dict[str, Any]:
        """States of some runs and of their task instances (the pages' live refresh)."""
        from tradewind.services.ui_queries import run_states

        with self.env.db.session(readonly=True) as session:
            return run_states(session, dag_id, run_ids)

    def view(
        self, dag_id: str, run_id: str = "", *, recent: int = 0
    ) -> tuple[DagRun | None, list[TaskInstance], list[DagRun]]:
        """The run ``run_id`` (raise NotFound), or the DAG's newest run, or None; its task
        instances by start time; and the ``recent`` newest runs, oldest first."""
        from tradewind.services.ui_queries import grid, run_tis

        with self.env.db.session(readonly=True) as session:
            if run_id:
                run: DagRun | None = get_run(session, dag_id, run_id)
            else:
                newest = grid(session, dag_id, limit=1).runs
                run = newest[-1] if newest else None
            tis = run_tis(session, dag_id, run.run_id) if run is not None else []
            runs = grid(session, dag_id, limit=recent).runs if recent else []
            return run, tis, runs

    def task_durations(self, dag_id: str) -> tuple[list[DagRun], list[tuple[str, str, float]]]:
        """The newest runs of a DAG (oldest first) and each task instance's duration in them."""
        from tradewind.services.ui_queries import task_durations

        with self.env.db.session(readonly=True) as session:
            return task_durations(session, dag_id)

    def page(self, where: list[Any], paging: Any, *, dag_id: str | None = None) -> Listed[DagRun]:
        """One page (``queries.Paging``) of the runs matching ``where``, with their labels
        (``listings.Listed``); with ``dag_id``, raise NotFound for an unknown DAG first."""
        from tradewind.services import queries as q
        from tradewind.services.dags import get_dag
        from tradewind.services.listings import Listed, labels_of

        with self.env.db.session(readonly=True) as session:
            if dag_id is not None:
                get_dag(session, dag_id)
            found = q.list_runs(session, where, paging)
            return Listed(found.items, found.total, labels_of(session, found.items))

    def page_after(
        self, where: list[Any], order_by: Any, limit: int, cursor: str, *, dag_id: str | None
    ) -> Listed[DagRun]:
        """As :meth:`page`, by keyset: the ``limit`` runs after ``cursor`` ("" first)."""
        from tradewind.services import queries as q
        from tradewind.services.dags import get_dag
        from tradewind.services.listings import Listed, labels_of

        with self.env.db.session(readonly=True) as session:
            if dag_id is not None:
                get_dag(session, dag_id)
            found = q.list_runs_after(session, where, order_by, limit, cursor)
            labels = labels_of(session, found.items)
            return Listed(
                found.items, found.total, labels, found.next_cursor, found.previous_cursor
            )

    def stats(self, dag_ids: Any = None) -> list[tuple[str, str, dict[str, int]]]:
        """``(dag_id, display name, state -> number of runs)`` per DAG with runs (or per DAG
        of ``dag_ids``), by dag_id."""
        from tradewind.services.queries import dag_run_stats

        with self.env.db.session(readonly=True) as session:
            return dag_run_stats(session, dag_ids)

    def shown(self, dag_id: str, run_id: str) -> tuple[DagRun, Labels]:
        """One run and its labels (``listings.Labels``); raise NotFound (Airflow's message)."""
        from tradewind.services.listings import labels_of
        from tradewind.services.queries import get_dag_run

        with self.env.db.session(readonly=True) as session:
            run = get_dag_run(session, dag_id, run_id)
            return run, labels_of(session, [run])

    def create(
        self,
        dag_id: str,
        *,
        conf: Any = None,
        run_id: str | None = None,
        logical_date: datetime | None = None,
        note: str | None = None,
        user: str | None = None,
    ) -> tuple[DagRun, Labels]:
        """Trigger a manual run as the REST API does (``logical_date`` None: a run without a
        logical date), and wake the schedulers; return it and its labels."""
        from tradewind.services.listings import labels_of

        with self.env.db.session() as session:
            run = trigger_run(
                session, dag_id, now=self.env.now(), conf=conf, run_id=run_id,
                logical_date=logical_date, logical_date_given=True, user=user,
                triggered_by="rest_api", note=note,
                run_id_pattern=self.env.settings.get("scheduler", "allowed_run_id_pattern"),
            )  # fmt: skip
            session.flush()
            shown = run, labels_of(session, [run])
        self.env.wake()
        return shown

    def change(
        self,
        dag_id: str,
        run_id: str,
        *,
        state: str | None = None,
        note: Any = None,
        set_note: bool = False,
        user: str | None = None,
    ) -> tuple[DagRun, Labels]:
        """Mark a run (``state``: queued, success, failed) and/or, with ``set_note``, set its
        note; wake the schedulers; return it and its labels. Raise NotFound."""
        from tradewind.services.edits import set_run_note
        from tradewind.services.listings import labels_of
        from tradewind.services.queries import get_dag_run
        from tradewind.services.task_instances import set_run_state

        now = self.env.now()
        with self.env.db.session() as session:
            run = get_dag_run(session, dag_id, run_id)
            if state is not None:
                run = set_run_state(session, dag_id, run_id, state, now=now, user=user)
            if set_note:
                run = set_run_note(session, dag_id, run_id, note, now=now, user=user)
            session.flush()
            session.refresh(run)
            shown = run, labels_of(session, [run])
        self.env.wake()
        return shown

    def clear_preview(
        self, dag_id: str, run_id: str, *, only_failed: bool = False
    ) -> tuple[list[tuple[TaskInstance, DagRun]], Labels]:
        """The ``(ti, run)`` rows clearing the run would reset, and their labels; raise
        NotFound."""
        from tradewind.services.listings import ti_labels
        from tradewind.services.queries import get_dag_run
        from tradewind.services.task_instances import clear_task_instances

        with self.env.db.session(readonly=True) as session:
            run = get_dag_run(session, dag_id, run_id)
            found = clear_task_instances(
                session, dag_id, now=self.env.now(), run_id=run_id, only_failed=only_failed,
                dry_run=True,
            )  # fmt: skip
            rows = [(ti, run) for ti in found]
            return rows, ti_labels(session, rows)

    def clear(
        self,
        dag_id: str,
        run_id: str,
        *,
        only_failed: bool = False,
        note: str | None = None,
        user: str | None = None,
    ) -> tuple[DagRun, Labels]:
        """Clear a run's task instances (all, or the failed ones) so they run again, set its
        note when given, and wake the schedulers; return the run and its labels."""
        from tradewind.services.edits import set_run_note
        from tradewind.services.listings import labels_of
        from tradewind.services.queries import get_dag_run
        from tradewind.services.task_instances import clear_task_instances

        now = self.env.now()
        with self.env.db.session() as session:
            get_dag_run(session, dag_id, run_id)
            clear_task_instances(
                session, dag_id, now=now, run_id=run_id, only_failed=only_failed, user=user
            )
            if note is not None:
                set_run_note(session, dag_id, run_id, note, now=now, user=user)
            session.flush()
            run = get_dag_run(session, dag_id, run_id)
            session.refresh(run)
            shown = run, labels_of(session, [run])
        self.env.wake()
        return shown

    def delete(self, dag_id: str, run_id: str, *, user: str | None = None) -> None:
        """Delete a run with its task instances; raise NotFound."""
        from tradewind.services.edits import delete_run
        from tradewind.services.queries import get_dag_run

        with self.env.db.session() as session:
            get_dag_run(session, dag_id, run_id)
            delete_run(session, dag_id, run_id, now=self.env.now(), user=user)

    def clear_runs_preview(
        self, dag_id: str, run_ids: list[str], *, only_failed: bool = False
    ) -> tuple[list[tuple[TaskInstance, DagRun]], Labels]:
        """The ``(ti, run)`` rows clearing those runs would reset, and their labels; raise
        NotFound for an unknown DAG or run."""
        return self._clear_runs(dag_id, run_ids, only_failed=only_failed, dry_run=True)[1:]

    def clear_runs(
        self,
        dag_id: str,
        run_ids: list[str],
        *,
        only_failed: bool = False,
        note: str | None = None,
        user: str | None = None,
    ) -> Listed[DagRun]:
        """Clear those runs of a DAG (all their task instances, or the failed ones), set their
        note when given, and wake the schedulers; return the runs with their labels."""
        runs, _rows, labels = self._clear_runs(
            dag_id, run_ids, only_failed=only_failed, note=note, user=user
        )
        self.env.wake()
        return _listed(runs, labels)

    def _clear_runs(
        self,
        dag_id: str,
        run_ids: list[str],
        *,
        only_failed: bool,
        dry_run: bool = False,
        note: str | None = None,
        user: str | None = None,
    ) -> tuple[list[DagRun], list[tuple[TaskInstance, DagRun]], Labels]:
        from tradewind.services.listings import labels_of, ti_labels
        from tradewind.services.task_instances import clear_runs

        with self.env.db.session(readonly=dry_run) as session:
            chosen, cleared = clear_runs(
                session, dag_id, run_ids, now=self.env.now(), only_failed=only_failed,
                dry_run=dry_run, note=note, user=user,
            )  # fmt: skip
            labels = ti_labels(session, cleared) if dry_run else labels_of(session, chosen)
            return chosen, cleared, labels

    def check(self, dag_id: str, run_id: str | None = None) -> None:
        """Raise NotFound unless the DAG (and the run ``run_id``, when given) exists."""
        from tradewind.services.dags import get_dag
        from tradewind.services.queries import get_dag_run

        with self.env.db.session(readonly=True) as session:
            get_dag(session, dag_id)
            if run_id is not None:
                get_dag_run(session, dag_id, run_id)

    def version_of(self, dag_id: str, run_id: str) -> SerializedDag:
        """The serialized DAG version a run was created from; raise NotFound."""
        from tradewind.services.queries import get_dag_run

        with self.env.db.session(readonly=True) as session:
            run = get_dag_run(session, dag_id, run_id)
            return get_serialized_dag(session, dag_id, run.dag_version)


def _listed(runs: list[DagRun], labels: Labels) -> Listed[DagRun]:
    from tradewind.services.listings import Listed

    return Listed(runs, len(runs), labels)
