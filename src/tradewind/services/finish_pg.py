"""The end of a try on PostgreSQL in one statement: compare-and-set, history row, run touched
and the ``NOTIFY`` as one data-modifying CTE (``ExecutionService.finish_try``'s writes).

Elsewhere (SQLite) :func:`~tradewind.services.try_end.write_finish` sends them one by one;
here each was a round trip of its own, and the web server's CPU per call is mostly the
statements' client side (docs/benchmarks.md, #17). The statement::

    WITH finished AS (UPDATE task_instance SET state = :new, ... WHERE id = :ti_id
                      AND state = :current AND try_number = :for_try AND queue_seq = :for_seq
                      RETURNING id),
         history AS (INSERT INTO task_instance_history (...) SELECT :h_... FROM finished),
         touched AS (UPDATE dag_run SET change_seq = change_seq + 1
                     WHERE dag_id = :of_dag AND run_id = :of_run
                     AND EXISTS (SELECT 1 FROM finished))
    SELECT finished.id [, pg_notify(:channel, :payload)] FROM finished

Every part reads ``finished``: when the compare-and-set matches no row, nothing is written
and nothing notified, so the statement needs no transaction around it
(:func:`one_statement_connection` runs it in autocommit: no ``BEGIN`` and ``COMMIT`` round trips;
the row ``finish`` read before it was read outside any lock anyway, and the compare-and-set
is what decides). The run's row is locked only after the task instance's (its ``EXISTS``
needs ``finished`` first), the order the statements had one by one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, Table, bindparam, exists, func, insert, literal, select

from tradewind.core.states import TaskInstanceState as TI
from tradewind.errors import TaskInstanceMoved
from tradewind.metastore.tables import DagRun, TaskInstanceHistory
from tradewind.services.ti_state import run_columns
from tradewind.services.try_end import _finish_update, history_row
from tradewind.services.wakeup import CHANNEL, TASK_ENDED

DRc = cast(Table, DagRun.__table__).c
HT = cast(Table, TaskInstanceHistory.__table__)


class _AnyRow:
    """Stands for a task instance row: every column None (to learn history_row's keys)."""

    def __getattr__(self, name: str) -> None:
        return None


_HISTORY_KEYS = tuple(history_row(_AnyRow(), None, None))
_STATEMENTS: dict[tuple[frozenset[str], TI, TI | None, bool], Any] = {}


def _statement(keys: frozenset[str], current: TI, new: TI | None, notify: bool) -> Any:
    """The one statement of a finish of this shape, built once."""
    shape = (keys, current, new, notify)
    stmt = _STATEMENTS.get(shape)
    if stmt is None:
        finished = _finish_update(keys, current, new).returning(literal(1).label("one"))
        finished = finished.cte("finished")
        history = insert(HT).from_select(
            _HISTORY_KEYS,
            select(*(bindparam(f"h_{k}", type_=HT.c[k].type) for k in _HISTORY_KEYS)).select_from(
                finished
            ),
        )
        touched = run_columns(
            DRc.dag_id == bindparam("of_dag"),
            DRc.run_id == bindparam("of_run"),
            exists(select(finished.c.one)),
        ).values(change_seq=DRc.change_seq + 1)
        columns: list[Any] = [finished.c.one]
        if notify:
            columns.append(func.pg_notify(literal(CHANNEL), bindparam("payload")))
        stmt = (
            select(*columns)
            .select_from(finished)
            .add_cte(history.cte("history"), touched.cte("touched"))
        )
        _STATEMENTS[shape] = stmt
    return stmt


def write_finish_pg(
    c: Any,
    ti: Any,
    current: TI,
    new: TI | None,
    kept: str,
    error: str | None,
    values: dict[str, Any],
    *,
    notify: bool,
) -> None:
    """What ``write_finish`` writes (a lost try's event aside), and with ``notify`` the
    ``NOTIFY`` that the try ended, in one round trip; TaskInstanceMoved if the row moved."""
    now = values["end_date"]
    row = history_row(ti, kept, error, end_date=now, duration=values["duration"])
    params: dict[str, Any] = {
        "ti_id": ti.id,
        "for_try": ti.try_number,
        "for_seq": ti.queue_seq,
        "of_dag": ti.dag_id,
        "of_run": ti.run_id,
        **{f"v_{k}": v for k, v in values.items()},
        **{f"h_{k}": v for k, v in row.items()},
    }
    if notify:
        params["payload"] = f"{TASK_ENDED}:{ti.id}:{ti.try_number}"
    if c.execute(_statement(frozenset(values), current, new, notify), params).first() is None:
        raise TaskInstanceMoved(f"task instance {ti.dag_id}.{ti.task_id} changed meanwhile")


_AUTOCOMMIT: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()


@contextmanager
def one_statement_connection(engine: Engine, one_statement: bool = True) -> Iterator[Any]:
    """The connection of a call that writes in one statement (``one_statement``: a claim,
    a finish through :func:`write_finish_pg`): on PostgreSQL in autocommit (the statement is
    atomic by itself; no ``BEGIN`` and ``COMMIT`` round trips); else a transaction
    (``engine.begin()``)."""
    if not one_statement or engine.dialect.name != "postgresql":
        with engine.begin() as c:
            yield c
        return
    auto = _AUTOCOMMIT.get(engine)
    if auto is None:
        auto = _AUTOCOMMIT[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    with auto.connect() as c:
        yield c
