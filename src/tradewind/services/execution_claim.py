"""The claim of a try: the compare-and-set from queued to running, and the rows its answer
is made of: the task instance, its run, and the DAG's previous successful run (the hot path
of every task start: prebuilt Core statements, one round trip on PostgreSQL)."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, bindparam, select, true

from tradewind.core.states import DagRunState
from tradewind.core.states import TaskInstanceState as TI
from tradewind.errors import NotFound, TaskInstanceMoved
from tradewind.metastore.tables import DagRun, TaskInstance
from tradewind.services.ti_state import ti_update
from tradewind.services.tokens import stale_leg_message

TIc = TaskInstance.__table__.c
DRT = DagRun.__table__
DRc = DRT.c
logger = logging.getLogger("tradewind.services.execution")

# The claim's statements, built once (building a statement costs more than running it here).
_CLAIM_COLUMNS = (
    TIc.id,
    TIc.dag_id,
    TIc.run_id,
    TIc.task_id,
    TIc.map_index,
    TIc.try_number,
    TIc.max_tries,
    TIc.state,
    TIc.next_method,
    TIc.next_kwargs,
    TIc.dag_version,
    TIc.queue_seq,
    TIc.hostname,
    TIc.pid,
)
_CLAIM = ti_update(
    TI.QUEUED,
    TI.RUNNING,
    TIc.id == bindparam("ti_id"),
    TIc.try_number == bindparam("for_try"),
    TIc.queue_seq == bindparam("for_seq"),  # the token's leg: an earlier leg's never claims
).values(
    start_date=bindparam("now"),
    end_date=None,
    duration=None,
    hostname=bindparam("by_host"),
    pid=bindparam("by_pid"),
    last_heartbeat_at=bindparam("now"),
    updated_at=bindparam("now"),
)
_CLAIM_RETURNING = _CLAIM.returning(*_CLAIM_COLUMNS)
_TI_FOR_CLAIM = select(*_CLAIM_COLUMNS).where(TIc.id == bindparam("ti_id"))
_RUN_OF_TI = select(DRT).where(DRc.dag_id == bindparam("dag_id"), DRc.run_id == bindparam("run_id"))
# The DAG's latest successful run before this one (by logical date; runs without one by id).
_PREV_COLUMNS = (
    "data_interval_start",
    "data_interval_end",
    "start_date",
    "end_date",
    "logical_date",
)
_PREV_SUCCESS = select(DRc.id, *(DRc[k] for k in _PREV_COLUMNS)).where(
    DRc.dag_id == bindparam("dag_id"),
    DRc.state == DagRunState.SUCCESS.value,
    DRc.id != bindparam("not_run"),
)
_PREV_SUCCESS_DATED = (
    _PREV_SUCCESS.where(DRc.logical_date < bindparam("before"))
    .order_by(DRc.logical_date.desc())
    .limit(1)
)
_PREV_SUCCESS_UNDATED = _PREV_SUCCESS.order_by(DRc.id.desc()).limit(1)


def _claim_with_run_and_prev() -> tuple[Any, str, str, str]:
    """PostgreSQL: the claim, its run and the previous success in one statement (a
    data-modifying CTE joined to the run, and two ``LATERAL`` reads of the previous run, one
    per kind of run: each has a condition on the run alone, a one-time filter, so only the
    one that applies reads). Returns the statement and its column prefixes."""
    claimed = _CLAIM_RETURNING.cte("claimed")
    run = DRT.alias("run")
    laterals = []
    for name, by_date in (("dated", True), ("undated", False)):
        p = DRT.alias(f"p_{name}")
        q = select(p.c.id, *(p.c[k] for k in _PREV_COLUMNS)).where(
            p.c.dag_id == run.c.dag_id,
            p.c.state == DagRunState.SUCCESS.value,
            p.c.id != run.c.id,
        )
        if by_date:
            q = q.where(run.c.logical_date.is_not(None), p.c.logical_date < run.c.logical_date)
            q = q.order_by(p.c.logical_date.desc())
        else:
            q = q.where(run.c.logical_date.is_(None)).order_by(p.c.id.desc())
        laterals.append(q.limit(1).lateral(f"prev_{name}"))
    dated, undated = laterals
    joined = claimed.join(
        run, and_(run.c.dag_id == claimed.c.dag_id, run.c.run_id == claimed.c.run_id)
    )
    for lat in laterals:
        joined = joined.outerjoin(lat, true())
    columns = [
        *claimed.c,
        *(run.c[k].label(_RUN_PREFIX + k) for k in _RUN_COLUMNS),
        *(col.label(_DATED_PREFIX + col.name) for col in dated.c),
        *(col.label(_UNDATED_PREFIX + col.name) for col in undated.c),
    ]
    return select(*columns).select_from(joined), _RUN_PREFIX, _DATED_PREFIX, _UNDATED_PREFIX


_RUN_PREFIX, _DATED_PREFIX, _UNDATED_PREFIX = "run__", "prev_dated__", "prev_undated__"
# What the claim's answer reads of the run (each column of a result costs its decoding).
_RUN_COLUMNS = (
    "id",
    "dag_id",
    "run_id",
    "run_type",
    "logical_date",
    "data_interval_start",
    "data_interval_end",
    "run_after",
    "start_date",
    "conf",
    "triggered_by",
    "clear_number",
)
_CLAIM_WITH_RUN = _claim_with_run_and_prev()[0]


def _prefixed(values: Any, prefix: str) -> SimpleNamespace:
    n = len(prefix)
    return SimpleNamespace(**{k[n:]: values[k] for k in values if k.startswith(prefix)})


def claim_row(
    c: Any,
    params: dict[str, Any],
    ti_id: int,
    try_number: int,
    seq: int,
    hostname: str,
    pid: int,
) -> tuple[Any, Any, Any]:
    """The claim's compare-and-set; return the claimed task instance's row, its run's, and
    the DAG's previous successful run's (None if there is none)."""
    if c.dialect.name == "postgresql":  # claim, run and previous success in one round trip
        row = c.execute(_CLAIM_WITH_RUN, params).one_or_none()
        if row is not None:
            values = row._mapping
            run = _prefixed(values, _RUN_PREFIX)
            prefix = _DATED_PREFIX if run.logical_date is not None else _UNDATED_PREFIX
            prev = _prefixed(values, prefix)
            return row, run, (prev if prev.id is not None else None)
        ti = c.execute(_TI_FOR_CLAIM, params).one_or_none()
        _refuse_claim(ti, ti_id, try_number, seq, hostname, pid)
    elif c.dialect.update_returning:  # SQLite: one round trip for the claim
        ti = c.execute(_CLAIM_RETURNING, params).one_or_none()
        if ti is None:
            ti = c.execute(_TI_FOR_CLAIM, params).one_or_none()
            _refuse_claim(ti, ti_id, try_number, seq, hostname, pid)
    else:
        ok = c.execute(_CLAIM, params).rowcount
        ti = c.execute(_TI_FOR_CLAIM, params).one_or_none()
        if not ok:
            _refuse_claim(ti, ti_id, try_number, seq, hostname, pid)
    assert ti is not None
    run = c.execute(_RUN_OF_TI, {"dag_id": ti.dag_id, "run_id": ti.run_id}).one()
    return ti, run, prev_success(c, run)


def prev_success(c: Any, run: Any) -> Any:
    """The DAG's latest successful run before ``run`` (its row), or None."""
    params = {"dag_id": run.dag_id, "not_run": run.id, "before": run.logical_date}
    q = _PREV_SUCCESS_DATED if run.logical_date is not None else _PREV_SUCCESS_UNDATED
    return c.execute(q, params).first()


def _refuse_claim(ti: Any, ti_id: int, try_number: int, seq: int, hostname: str, pid: int) -> None:
    """Raise why the claim's compare-and-set failed; return (accept it) when the task
    instance is already running this leg for the same host and process: the claimant's
    retry of a claim whose answer it never got (the webserver died after the commit)."""
    if ti is None:
        raise NotFound(f"task instance {ti_id} not found")
    mine = (TI.RUNNING.value, try_number, seq, hostname, pid)
    if (ti.state, ti.try_number, ti.queue_seq, ti.hostname, ti.pid) == mine:
        logger.info("task instance %s: claim repeated by %s pid %s", ti_id, hostname, pid)
        return
    if ti.try_number == try_number and ti.queue_seq != seq:
        raise TaskInstanceMoved(stale_leg_message(try_number, seq, ti.queue_seq))
    raise TaskInstanceMoved(
        f"task instance {ti.dag_id}.{ti.task_id} ({ti.run_id}) is "
        f"{ti.state or 'none'} at try {ti.try_number}, not queued for try {try_number}"
    )
