"""The claim of a try: the compare-and-set from queued to running, and the rows its answer
is made of (the hot path of every task start: prebuilt Core statements, one round trip on
PostgreSQL)."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, bindparam, select

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
# PostgreSQL: the claim and its run in one statement (a data-modifying CTE), one round trip.
_RUN_PREFIX = "run__"
_CLAIMED = _CLAIM_RETURNING.cte("claimed")
_CLAIM_WITH_RUN = select(
    *_CLAIMED.c, *(col.label(_RUN_PREFIX + col.name) for col in DRc)
).select_from(
    _CLAIMED.join(DRT, and_(DRc.dag_id == _CLAIMED.c.dag_id, DRc.run_id == _CLAIMED.c.run_id))
)
_RUN_OF_TI = select(DRT).where(DRc.dag_id == bindparam("dag_id"), DRc.run_id == bindparam("run_id"))


def claim_row(
    c: Any,
    params: dict[str, Any],
    ti_id: int,
    try_number: int,
    seq: int,
    hostname: str,
    pid: int,
) -> tuple[Any, Any]:
    """The claim's compare-and-set; return the claimed task instance's row and its run's."""
    if c.dialect.name == "postgresql":  # claim and run in one round trip
        row = c.execute(_CLAIM_WITH_RUN, params).one_or_none()
        if row is not None:
            n = len(_RUN_PREFIX)
            values = row._mapping
            run = SimpleNamespace(**{k[n:]: values[k] for k in values if k.startswith(_RUN_PREFIX)})
            return row, run
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
    return ti, run


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
