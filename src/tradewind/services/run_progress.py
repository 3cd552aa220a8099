"""Which dirty runs have nothing to decide: asked of the database, not read row by row.

A run is re-examined after each of its task instances ended. In a wide run most passes find
no task instance waiting (no state) and the run not over: reading every task instance of
the run into Python to learn that cost O(tasks) per finished task, so a 10,000-task fan-out
grew quadratically (#17). One query per pass (three index seeks per run) tells those runs
apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, Table, select
from sqlalchemy.orm import Session

from tradewind.core.states import UNFINISHED_STATES
from tradewind.core.states import TaskInstanceState as TI
from tradewind.metastore.tables import DagRun, TaskInstance
from tradewind.sdk.serialization import SerializedDag
from tradewind.services.scheduling import ListStatement

TIT = cast(Table, TaskInstance.__table__)
TIc = TIT.c
DRT = cast(Table, DagRun.__table__)
DRc = DRT.c


def _any(condition: Any) -> Any:
    """Whether a task instance of the outer run matches: one seek in ``ix_ti_dag_run_state``."""
    return (
        select(TIc.id).where(TIc.dag_id == DRc.dag_id, TIc.run_id == DRc.run_id, condition).exists()
    )


_UNFINISHED = [s.value for s in UNFINISHED_STATES if s is not None]
_RUN_COUNTS = ListStatement(
    lambda in_list: select(
        DRc.id.label("run_pk"),
        _any(TIc.state.is_(None)).label("waiting"),
        _any(TIc.state.in_(_UNFINISHED)).label("unfinished"),
        _any(TIc.state == TI.FAILED.value).label("failed"),
    ).where(in_list(DRc.id)),
    "run_pks",
    BigInteger,
)


#: Below this many tasks, reading the run's task instances costs less than one more query.
COUNT_FROM_TASKS = 64


def quiet_runs(
    session: Session, runs: Sequence[Any], sdags: dict[int, SerializedDag], now: datetime
) -> set[int]:
    """The pks of ``runs`` with no task instance waiting and not ending now (task instances
    still unfinished, no fail_fast failure, no dagrun_timeout passed); only runs of DAGs of
    at least ``COUNT_FROM_TASKS`` tasks are counted."""
    runs = [r for r in runs if len(sdags[r.id].tasks) >= COUNT_FROM_TASKS]
    if not runs:
        return set()
    counts: dict[int, Any] = {}
    pks = [r.id for r in runs]
    stmt = _RUN_COUNTS.on(session)
    for i in range(0, len(pks), 500):
        for row in session.execute(stmt, {"run_pks": pks[i : i + 500]}):
            counts[row.run_pk] = row
    quiet: set[int] = set()
    for run in runs:
        c = counts.get(run.id)
        if c is None or c.waiting or not (c.waiting or c.unfinished):
            continue
        sdag = sdags[run.id]
        if sdag.fail_fast and c.failed:
            continue
        if (
            sdag.dagrun_timeout
            and run.start_date
            and (now - run.start_date).total_seconds() > sdag.dagrun_timeout
        ):
            continue
        quiet.add(run.id)
    return quiet
