"""Backfills: runs for a past date range, created up front and run by the scheduler.

Stored as a ``backfill`` row that its runs point to, so closing the terminal that asked for it
loses nothing; ``max_active_runs`` of the backfill caps how many of its runs go at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tradewind.core.states import DagRunState, DagRunType
from tradewind.core.states import TaskInstanceState as TI
from tradewind.errors import Conflict, InvalidInput, NotFound
from tradewind.metastore.tables import Backfill, DagModel, DagRun, TaskInstance
from tradewind.sdk.timetables import as_utc
from tradewind.services.dag_store import get_serialized_dag
from tradewind.services.env import Env
from tradewind.services.event_log import log_event
from tradewind.services.runs import create_run, run_id_for, validate_conf
from tradewind.services.task_instances import _reset
from tradewind.services.ti_state import run_update, ti_update

REPROCESS = ("none", "failed", "completed")


def plan_backfill(
    session: Session,
    dag_id: str,
    from_date: datetime,
    to_date: datetime,
    reprocess_behavior: str = "none",
) -> list[dict[str, Any]]:
    """Return, per interval in the range, what a backfill would do: create, clear or skip."""
    if reprocess_behavior not in REPROCESS:
        raise InvalidInput(f"reprocess_behavior must be one of {', '.join(REPROCESS)}")
    from_date, to_date = as_utc(from_date), as_utc(to_date)
    if from_date > to_date:
        raise InvalidInput(
            f"the start {from_date.isoformat()} is after the end {to_date.isoformat()}"
        )
    sdag = get_serialized_dag(session, dag_id)
    infos = list(sdag.timetable.iter_dagrun_infos_between(from_date, to_date))
    if not infos:
        raise InvalidInput(
            f"DAG {dag_id!r} (schedule {sdag.schedule}) has no intervals between {from_date.date()} and {to_date.date()}"
        )
    existing = {
        r.logical_date: r
        for r in session.execute(
            select(DagRun).where(
                DagRun.dag_id == dag_id,
                DagRun.logical_date >= infos[0].logical_date,
                DagRun.logical_date <= infos[-1].logical_date,
            )
        ).scalars()
    }
    plan = []
    for info in infos:
        run = existing.get(info.logical_date)
        if run is None:
            action = "create"
        elif run.state in (DagRunState.QUEUED.value, DagRunState.RUNNING.value):
            action = "skip"
        elif reprocess_behavior == "completed" or (
            reprocess_behavior == "failed" and run.state == DagRunState.FAILED.value
        ):
            action = "clear"
        else:
            action = "skip"
        plan.append({"info": info, "action": action, "run": run})
    return plan


def create_backfill(
    session: Session,
    dag_id: str,
    from_date: datetime,
    to_date: datetime,
    *,
    now: datetime,
    reprocess_behavior: str = "none",
    max_active_runs: int = 10,
    run_backwards: bool = False,
    conf: Any = None,
    dry_run: bool = False,
    user: str | None = None,
) -> tuple[Backfill | None, list[dict[str, Any]]]:
    """Create the backfill and its runs (queued); return it and the per-interval plan."""
    if session.get(DagModel, dag_id) is None:
        raise NotFound(f"DAG {dag_id!r} not found")
    if max_active_runs < 1:
        raise InvalidInput("max_active_runs must be at least 1")
    sdag = get_serialized_dag(session, dag_id)
    conf = validate_conf(sdag, conf)
    plan = plan_backfill(session, dag_id, from_date, to_date, reprocess_behavior)
    if dry_run:
        return None, plan
    active = session.execute(
        select(Backfill.id).where(Backfill.dag_id == dag_id, Backfill.completed_at.is_(None))
    ).first()
    if active:
        raise Conflict(
            f"DAG {dag_id!r} already has a backfill in progress (id {active[0]}); wait for it or cancel it"
        )
    bf = Backfill(
        dag_id=dag_id,
        from_date=as_utc(from_date),
        to_date=as_utc(to_date),
        dag_run_conf=conf,
        is_paused=False,
        reprocess_behavior=reprocess_behavior,
        max_active_runs=max_active_runs,
        run_backwards=run_backwards,
        created_at=now,
        updated_at=now,
    )
    session.add(bf)
    session.flush()
    ordered = list(reversed(plan)) if run_backwards else plan
    for item in ordered:
        info = item["info"]
        if item["action"] == "create":
            run = create_run(
                session,
                sdag,
                run_id=run_id_for(DagRunType.BACKFILL, info.logical_date),
                run_type=DagRunType.BACKFILL,
                logical_date=info.logical_date,
                data_interval=info.data_interval,
                run_after=info.run_after,
                conf=conf,
                now=now,
                backfill_id=bf.id,
                triggered_by="backfill",
                triggering_user=user,
            )
            run.queued_at = now
        elif item["action"] == "clear":
            run = item["run"]
            tis = list(
                session.execute(
                    select(TaskInstance).where(
                        TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id
                    )
                ).scalars()
            )
            if reprocess_behavior == "failed":
                tis = [t for t in tis if t.state in (TI.FAILED.value, TI.UPSTREAM_FAILED.value)]
            _reset(session, tis, now)
            run.backfill_id = bf.id
    if not any(p["action"] in ("create", "clear") for p in plan):
        bf.completed_at = now
    log_event(
        session,
        "backfill",
        now=now,
        owner=user,
        dag_id=dag_id,
        extra={
            "from": from_date.isoformat(),
            "to": to_date.isoformat(),
            "reprocess": reprocess_behavior,
        },
    )
    return bf, plan


def get_backfill(session: Session, backfill_id: int) -> Backfill:
    bf = session.get(Backfill, backfill_id)
    if bf is None:
        raise NotFound(f"backfill {backfill_id} not found")
    return bf


def list_backfills(
    session: Session, dag_id: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[Backfill], int]:
    q = select(Backfill)
    if dag_id:
        q = q.where(Backfill.dag_id == dag_id)
    total = session.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    return list(
        session.execute(q.order_by(Backfill.id.desc()).limit(limit).offset(offset)).scalars()
    ), int(total)


def backfill_progress(session: Session, backfill_id: int) -> dict[str, int | bool]:
    """Runs of the backfill by state: done (success), failed, running, queued, total, complete."""
    bf = get_backfill(session, backfill_id)
    counts = dict(
        session.execute(
            select(DagRun.state, func.count())
            .where(DagRun.backfill_id == backfill_id)
            .group_by(DagRun.state)
        ).all()
    )
    total = sum(counts.values())
    return {
        "done": counts.get(DagRunState.SUCCESS.value, 0),
        "failed": counts.get(DagRunState.FAILED.value, 0),
        "running": counts.get(DagRunState.RUNNING.value, 0),
        "queued": counts.get(DagRunState.QUEUED.value, 0),
        "total": total,
        "complete": bf.completed_at is not None,
    }


def set_backfill_paused(
    session: Session, backfill_id: int, paused: bool, *, now: datetime
) -> Backfill:
    bf = get_backfill(session, backfill_id)
    if bf.completed_at is not None:
        raise Conflict(f"backfill {backfill_id} is already complete")
    bf.is_paused = paused
    bf.updated_at = now
    return bf


def cancel_backfill(session: Session, backfill_id: int, *, now: datetime) -> Backfill:
    """Stop a backfill: its queued runs are failed (never started); running ones finish."""
    bf = get_backfill(session, backfill_id)
    if bf.completed_at is not None:
        raise Conflict(f"backfill {backfill_id} is already complete")
    queued = (
        session.execute(
            select(DagRun).where(
                DagRun.backfill_id == backfill_id, DagRun.state == DagRunState.QUEUED.value
            )
        )
        .scalars()
        .all()
    )
    for run in queued:
        session.execute(
            ti_update(
                None,
                TI.SKIPPED,
                TaskInstance.dag_id == run.dag_id,
                TaskInstance.run_id == run.run_id,
                updated_at=now,
            )
        )
        session.execute(
            run_update(DagRunState.QUEUED, DagRunState.FAILED, DagRun.id == run.id, end_date=now)
        )
        session.refresh(run)
    bf.is_paused = True
    bf.completed_at = now
    bf.updated_at = now
    return bf


class BackfillService:
    """The backfills' use cases, bound to the environment; each call is one transaction."""

    def __init__(self, env: Env):
        self.env = env

    def create(
        self, dag_id: str, from_date: datetime, to_date: datetime, **options: Any
    ) -> tuple[Backfill | None, list[dict[str, Any]]]:
        """Create the backfill and its runs (queued), ``options`` as
        :func:`create_backfill`'s; return it (None for a dry run) and the per-interval plan.
        The caller wakes the schedulers once it has shown the plan."""
        with self.env.db.session() as session:
            return create_backfill(
                session, dag_id, from_date, to_date, now=self.env.now(), **options
            )

    def progress(self, backfill_id: int) -> dict[str, int | bool]:
        """How many runs of the backfill are done, failed, running, queued; whether complete."""
        with self.env.db.session(readonly=True) as session:
            return backfill_progress(session, backfill_id)

    def page(self, dag_id: str | None, paging: Any) -> tuple[Any, dict[str, str]]:
        """One page (``queries.Paging``) of the backfills of a DAG, and its display name."""
        from tradewind.services.queries import display_names, list_backfill_rows

        with self.env.db.session(readonly=True) as session:
            page = list_backfill_rows(session, dag_id, paging)
            return page, display_names(session, (b.dag_id for b in page.items))

    def start(
        self, dag_id: str, from_date: datetime, to_date: datetime, **options: Any
    ) -> tuple[Backfill, dict[str, str]]:
        """Create the backfill and its runs (queued), ``options`` as :func:`create_backfill`'s,
        and wake the schedulers; return it and its DAG's display name."""
        with self.env.db.session() as session:
            row, _plan = create_backfill(
                session, dag_id, from_date, to_date, now=self.env.now(), **options
            )
            assert row is not None
            session.flush()
            shown = row, _names(session, row)
        self.env.wake()
        return shown

    def plan(
        self, dag_id: str, from_date: datetime, to_date: datetime, **options: Any
    ) -> list[dict[str, Any]]:
        """The runs a backfill would create or re-run (per interval), creating nothing."""
        with self.env.db.session(readonly=True) as session:
            _row, plan = create_backfill(
                session, dag_id, from_date, to_date, now=self.env.now(), dry_run=True, **options
            )
            return plan

    def get(self, backfill_id: int) -> tuple[Backfill, dict[str, str]]:
        """One backfill and its DAG's display name; raise NotFound."""
        with self.env.db.session(readonly=True) as session:
            row = get_backfill(session, backfill_id)
            return row, _names(session, row)

    def set_paused(self, backfill_id: int, paused: bool) -> tuple[Backfill, dict[str, str]]:
        """Pause (no new runs start) or resume a backfill, and wake the schedulers."""
        with self.env.db.session() as session:
            row = set_backfill_paused(session, backfill_id, paused, now=self.env.now())
            shown = row, _names(session, row)
        self.env.wake()
        return shown

    def cancel(self, backfill_id: int) -> tuple[Backfill, dict[str, str]]:
        """Cancel a backfill (its runs not yet started are failed), and wake the schedulers."""
        with self.env.db.session() as session:
            row = cancel_backfill(session, backfill_id, now=self.env.now())
            shown = row, _names(session, row)
        self.env.wake()
        return shown


def _names(session: Session, row: Backfill) -> dict[str, str]:
    from tradewind.services.queries import display_names

    return display_names(session, [row.dag_id])
