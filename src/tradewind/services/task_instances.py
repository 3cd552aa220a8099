"""Task instances: read, clear (run again) and mark (audited manual state changes)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from tradewind.core.states import FINISHED_STATES, DagRunState, sources_of
from tradewind.core.states import TaskInstanceState as TI
from tradewind.errors import InvalidInput, NotFound
from tradewind.metastore.tables import DagRun, TaskInstance, TaskInstanceHistory, Trigger
from tradewind.services.dag_store import get_serialized_dag
from tradewind.services.event_log import log_event
from tradewind.services.ti_state import (
    ANY,
    run_columns,
    run_update,
    ti_columns,
    ti_update,
    touch_runs,
)
from tradewind.services.xcom import clear_xcoms
from tradewind.settings import Settings

_ACTIVE = (TI.QUEUED.value, TI.RUNNING.value)
#: What a clear moves to no state (running goes to restarting instead: its worker stops it).
_CLEARABLE = tuple(sorted(s for s in sources_of(None) if s is not None))
#: A cleared run queues again (a running one stays running; its cleared tasks run again).
_REQUEUE_RUN = (
    run_update((DagRunState.SUCCESS, DagRunState.FAILED), DagRunState.QUEUED),
    run_columns(DagRun.state == DagRunState.QUEUED.value),
)


def get_task_instance(
    session: Session, dag_id: str, run_id: str, task_id: str, map_index: int = -1
) -> TaskInstance:
    ti = session.execute(
        select(TaskInstance).where(
            TaskInstance.dag_id == dag_id,
            TaskInstance.run_id == run_id,
            TaskInstance.task_id == task_id,
            TaskInstance.map_index == map_index,
        )
    ).scalar_one_or_none()
    if ti is None:
        index = f" (map index {map_index})" if map_index >= 0 else ""
        raise NotFound(
            f"task instance {task_id!r}{index} of run {run_id!r} of DAG {dag_id!r} not found"
        )
    return ti


def list_task_instances(
    session: Session,
    *,
    dag_id: str | None = None,
    run_id: str | None = None,
    task_id: str | None = None,
    states: list[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[TaskInstance], int]:
    """Task instances matching the filters (None filter = any), newest first, with the total."""
    q = select(TaskInstance)
    if dag_id:
        q = q.where(TaskInstance.dag_id == dag_id)
    if run_id:
        q = q.where(TaskInstance.run_id == run_id)
    if task_id:
        q = q.where(TaskInstance.task_id == task_id)
    if states:
        real = [s for s in states if s not in ("none", "null", "")]
        cond = [TaskInstance.state.in_(real)] if real else []
        if len(real) != len(states):
            cond.append(TaskInstance.state.is_(None))
        q = q.where(or_(*cond))
    total = session.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    rows = (
        session.execute(q.order_by(TaskInstance.id.desc()).limit(limit).offset(offset))
        .scalars()
        .all()
    )
    return list(rows), int(total)


def tries(
    session: Session, dag_id: str, run_id: str, task_id: str, map_index: int = -1
) -> list[TaskInstanceHistory]:
    """The finished tries of a task instance (oldest first)."""
    return list(
        session.execute(
            select(TaskInstanceHistory)
            .where(
                TaskInstanceHistory.dag_id == dag_id,
                TaskInstanceHistory.run_id == run_id,
                TaskInstanceHistory.task_id == task_id,
                TaskInstanceHistory.map_index == map_index,
            )
            .order_by(TaskInstanceHistory.try_number, TaskInstanceHistory.id)
        ).scalars()
    )


def ti_log_path(settings: Settings, ti: Any, try_number: int | None = None) -> Path:
    from tradewind.core.log_files import log_path

    return log_path(
        settings.log_folder,
        ti.dag_id,
        ti.run_id,
        ti.task_id,
        try_number or max(ti.try_number, 1),
        ti.map_index,
    )


def _matching(
    session: Session,
    dag_id: str,
    *,
    task_regex: str | None,
    task_ids: list[str] | None,
    run_id: str | None,
    start_date: datetime | None,
    end_date: datetime | None,
    only_failed: bool,
    only_running: bool = False,
) -> list[TaskInstance]:
    q = (
        select(TaskInstance)
        .join(
            DagRun, (DagRun.dag_id == TaskInstance.dag_id) & (DagRun.run_id == TaskInstance.run_id)
        )
        .where(TaskInstance.dag_id == dag_id)
    )
    if run_id:
        q = q.where(TaskInstance.run_id == run_id)
    if start_date is not None:
        q = q.where(DagRun.logical_date >= start_date)
    if end_date is not None:
        q = q.where(DagRun.logical_date <= end_date)
    if task_ids:
        q = q.where(TaskInstance.task_id.in_(task_ids))
    if only_failed:
        q = q.where(TaskInstance.state.in_([TI.FAILED.value, TI.UPSTREAM_FAILED.value]))
    if only_running:
        q = q.where(TaskInstance.state == TI.RUNNING.value)
    rows = list(session.execute(q.order_by(TaskInstance.run_id, TaskInstance.task_id)).scalars())
    if task_regex:
        try:
            pattern = re.compile(task_regex)
        except re.error as exc:
            raise InvalidInput(f"invalid task regex {task_regex!r}: {exc}") from None
        rows = [r for r in rows if pattern.search(r.task_id)]
    return rows


def clear_task_instances(
    session: Session,
    dag_id: str,
    *,
    now: datetime,
    task_regex: str | None = None,
    task_ids: list[str] | None = None,
    run_id: str | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    only_failed: bool = False,
    only_running: bool = False,
    downstream: bool = False,
    upstream: bool = False,
    dry_run: bool = False,
    user: str | None = None,
    map_indexes: list[int] | None = None,
    instances: tuple[set[tuple[str, int]], set[str]] | None = None,
) -> list[TaskInstance]:
    """Make task instances run again; running ones are stopped first (state restarting).

    ``map_indexes`` limits the selected tasks (not their upstream/downstream) to those
    instances of a mapped task; ``instances`` (``{(task_id, map_index)}``, ``{task_id}``)
    selects some instances of some tasks and all of others (the API's ``task_ids``). Returns the task instances cleared (or that would be, with
    ``dry_run``).
    """
    get_serialized_dag(session, dag_id)
    selected = _matching(
        session,
        dag_id,
        task_regex=task_regex,
        task_ids=task_ids,
        run_id=run_id,
        start_date=start_date,
        end_date=end_date,
        only_failed=only_failed,
        only_running=only_running,
    )
    if map_indexes is not None:
        wanted = set(map_indexes)
        selected = [t for t in selected if t.map_index in wanted]
    if instances is not None:
        pairs, whole = instances
        selected = [t for t in selected if t.task_id in whole or (t.task_id, t.map_index) in pairs]
    if downstream or upstream:
        by_run: dict[tuple[str, str | None], set[str]] = {}
        for ti in selected:
            by_run.setdefault((ti.run_id, ti.dag_version), set()).add(ti.task_id)
        extra: list[TaskInstance] = []
        for (rid, version), ids in by_run.items():
            sdag = get_serialized_dag(session, dag_id, version)
            related: set[str] = set()
            known = [i for i in ids if i in sdag.tasks]
            if downstream:
                related |= sdag.descendants(known)
            if upstream:
                related |= sdag.ancestors(known)
            related -= ids
            if related:
                extra.extend(
                    session.execute(
                        select(TaskInstance).where(
                            TaskInstance.dag_id == dag_id,
                            TaskInstance.run_id == rid,
                            TaskInstance.task_id.in_(sorted(related)),
                        )
                    ).scalars()
                )
        selected = selected + extra
    selected = selected + _external_dependents(session, selected)
    if dry_run or not selected:
        return selected
    _reset(session, selected, now)
    log_event(
        session,
        "clear",
        now=now,
        owner=user,
        dag_id=dag_id,
        run_id=run_id,
        extra={"task_ids": sorted({t.task_id for t in selected})[:200], "count": len(selected)},
    )
    return selected


def clear_runs(
    session: Session,
    dag_id: str,
    run_ids: list[str],
    *,
    now: datetime,
    only_failed: bool = False,
    dry_run: bool = False,
    note: str | None = None,
    user: str | None = None,
) -> tuple[list[DagRun], list[tuple[TaskInstance, DagRun]]]:
    """Clear several runs of a DAG (``clearDagRuns``) and set their note when given; return
    the runs (refreshed) and the ``(ti, run)`` rows cleared (with ``dry_run``, only say which).
    Raise NotFound for an unknown DAG or run."""
    from tradewind.services.dags import get_dag
    from tradewind.services.edits import set_run_note
    from tradewind.services.queries import get_dag_run

    get_dag(session, dag_id)
    chosen = [get_dag_run(session, dag_id, run_id) for run_id in run_ids]
    cleared: list[tuple[TaskInstance, DagRun]] = []
    for run in chosen:
        tis = clear_task_instances(
            session, dag_id, now=now, run_id=run.run_id, only_failed=only_failed,
            dry_run=dry_run, user=user,
        )  # fmt: skip
        cleared += [(ti, run) for ti in tis]
    if dry_run:
        return chosen, cleared
    if note is not None:
        for run in chosen:
            set_run_note(session, dag_id, run.run_id, note, now=now, user=user)
    session.flush()
    for run in chosen:
        session.refresh(run)
    return chosen, cleared


def _external_dependents(session: Session, selected: list[TaskInstance]) -> list[TaskInstance]:
    """Task instances in other DAGs that ExternalTaskMarkers among ``selected`` point to."""
    from tradewind.services.external_clear import expand_external_markers

    by_run: dict[tuple[str, str], list[str]] = {}
    for ti in selected:
        by_run.setdefault((ti.dag_id, ti.run_id), []).append(ti.task_id)
    have = {(t.dag_id, t.run_id, t.task_id) for t in selected}
    extra: list[TaskInstance] = []
    for (dag_id, run_id), ids in by_run.items():
        for other_dag, other_run, other_ids in expand_external_markers(
            session, dag_id, run_id, ids
        ):
            for ti in session.execute(
                select(TaskInstance).where(
                    TaskInstance.dag_id == other_dag,
                    TaskInstance.run_id == other_run,
                    TaskInstance.task_id.in_(other_ids),
                )
            ).scalars():
                if (ti.dag_id, ti.run_id, ti.task_id) not in have:
                    have.add((ti.dag_id, ti.run_id, ti.task_id))
                    extra.append(ti)
    return extra


def _reset(session: Session, tis: list[TaskInstance], now: datetime) -> None:
    """Clear: running -> restarting (the worker is told to stop), everything else -> none."""
    runs: set[tuple[str, str]] = set()
    for ti in tis:
        runs.add((ti.dag_id, ti.run_id))
        new_max = ti.try_number + _retries_of(session, ti)
        if ti.state == TI.RUNNING.value:
            session.execute(
                ti_update(
                    TI.RUNNING,
                    TI.RESTARTING,
                    TaskInstance.id == ti.id,
                    max_tries=new_max,
                    lost_count=0,
                    updated_at=now,
                )
            )
            continue
        if ti.state == TI.DEFERRED.value and ti.trigger_id is not None:
            session.execute(delete(Trigger).where(Trigger.id == ti.trigger_id))
        # No state yet: only its tries are renewed; any other state but running: no state.
        reset = (
            ti_columns(TaskInstance.id == ti.id, TaskInstance.state.is_(None))
            if ti.state is None
            else ti_update(_CLEARABLE, None, TaskInstance.id == ti.id)
        )
        session.execute(
            reset.values(
                max_tries=new_max,
                lost_count=0,
                end_date=None,
                next_retry_at=None,
                next_method=None,
                next_kwargs=None,
                trigger_id=None,
                trigger_timeout=None,
                updated_at=now,
            )
        )
    by_run: dict[tuple[str, str], dict[str, list[int]]] = {}
    for ti in tis:
        by_run.setdefault((ti.dag_id, ti.run_id), {}).setdefault(ti.task_id, []).append(
            ti.map_index
        )
    for (dag_id, run_id), tasks in by_run.items():
        clear_xcoms(session, dag_id, run_id, list(tasks), map_indexes=tasks)
        for stmt in _REQUEUE_RUN:
            session.execute(
                stmt.where(DagRun.dag_id == dag_id, DagRun.run_id == run_id).values(
                    end_date=None, queued_at=now, clear_number=DagRun.clear_number + 1
                )
            )
    touch_runs(session, runs)


_retry_cache: dict[tuple[str, str | None, str], int] = {}


def _retries_of(session: Session, ti: TaskInstance) -> int:
    key = (ti.dag_id, ti.dag_version, ti.task_id)
    if key not in _retry_cache:
        sdag = get_serialized_dag(session, ti.dag_id, ti.dag_version)
        task = sdag.tasks.get(ti.task_id)
        _retry_cache[key] = int(task.retries) if task is not None else 0
    return _retry_cache[key]


def set_ti_state(
    session: Session,
    dag_id: str,
    run_id: str,
    task_id: str,
    state: str,
    *,
    now: datetime,
    user: str | None = None,
    downstream: bool = False,
    upstream: bool = False,
    dry_run: bool = False,
    map_index: int = -1,
) -> list[TaskInstance]:
    """Mark task instances success/failed/skipped by hand (allowed from any state, audited)."""
    if state not in (TI.SUCCESS.value, TI.FAILED.value, TI.SKIPPED.value):
        raise InvalidInput(f"state must be success, failed or skipped, not {state!r}")
    if map_index >= 0:
        ti = get_task_instance(session, dag_id, run_id, task_id, map_index)
    else:  # a plain task, or every instance of a mapped one
        ti = session.execute(
            select(TaskInstance)
            .where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id == run_id,
                TaskInstance.task_id == task_id,
            )
            .limit(1)
        ).scalar_one_or_none() or get_task_instance(session, dag_id, run_id, task_id, map_index)
    ids = {task_id}
    sdag = get_serialized_dag(session, dag_id, ti.dag_version)
    if downstream:
        ids |= sdag.descendants([task_id])
    if upstream:
        ids |= sdag.ancestors([task_id])
    tis = [
        t
        for t in session.execute(
            select(TaskInstance).where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id == run_id,
                TaskInstance.task_id.in_(sorted(ids)),
            )
        ).scalars()
        if map_index < 0 or t.task_id != task_id or t.map_index == map_index
    ]
    if dry_run:
        return tis
    for t in tis:
        session.execute(  # a user's mark: from any state, event-logged below
            ti_update(ANY, TI(state), TaskInstance.id == t.id, audited=True).values(
                end_date=now,
                start_date=t.start_date or now,
                updated_at=now,
                next_retry_at=None,
            )
        )
    touch_runs(session, [(dag_id, run_id)])
    session.execute(
        run_update(
            ANY,
            DagRunState.RUNNING,
            DagRun.dag_id == dag_id,
            DagRun.run_id == run_id,
            DagRun.state != DagRunState.RUNNING.value,
            audited=True,
            end_date=None,
        )
    )
    log_event(
        session,
        f"mark_{state}",
        now=now,
        owner=user,
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        extra={"task_ids": sorted(ids)},
    )
    for t in tis:
        session.refresh(t)
    return tis


def set_run_state(
    session: Session,
    dag_id: str,
    run_id: str,
    state: str,
    *,
    now: datetime,
    user: str | None = None,
) -> DagRun:
    """Mark a whole run (success: unfinished tasks success; failed: running failed, rest skipped;
    queued: clear it to run again)."""
    from tradewind.services.runs import get_run

    run = get_run(session, dag_id, run_id)
    finished = [s.value for s in FINISHED_STATES]
    base = select(TaskInstance.id).where(
        TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id
    )
    if state == DagRunState.SUCCESS.value:
        session.execute(
            ti_update(
                ANY,
                TI.SUCCESS,
                TaskInstance.id.in_(
                    base.where(
                        or_(TaskInstance.state.is_(None), TaskInstance.state.not_in(finished))
                    )
                ),
                audited=True,
                end_date=now,
                updated_at=now,
            )
        )
    elif state == DagRunState.FAILED.value:
        session.execute(
            ti_update(
                ANY,
                TI.FAILED,
                TaskInstance.id.in_(
                    base.where(TaskInstance.state.in_(_ACTIVE + (TI.DEFERRED.value,)))
                ),
                audited=True,
                end_date=now,
                updated_at=now,
            )
        )
        session.execute(
            ti_update(
                ANY,
                TI.SKIPPED,
                TaskInstance.id.in_(
                    base.where(
                        or_(TaskInstance.state.is_(None), TaskInstance.state.not_in(finished))
                    )
                ),
                audited=True,
                end_date=now,
                updated_at=now,
            )
        )
    elif state == DagRunState.QUEUED.value:
        tis = list(
            session.execute(
                select(TaskInstance).where(
                    TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id
                )
            ).scalars()
        )
        _reset(session, tis, now)
        session.refresh(run)
        log_event(session, "dagrun_queued", now=now, owner=user, dag_id=dag_id, run_id=run_id)
        return run
    else:
        raise InvalidInput(f"state must be success, failed or queued, not {state!r}")
    session.execute(
        run_update(ANY, DagRunState(state), DagRun.id == run.id, audited=True, end_date=now)
    )
    session.refresh(run)
    log_event(session, f"dagrun_{state}", now=now, owner=user, dag_id=dag_id, run_id=run_id)
    return run
