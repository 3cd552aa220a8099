"""The execution API's server side: claim, heartbeat, XCom, secrets and outcomes of a try.

Every transport (in process, the local executor's pipe, HTTP) ends here. Each call checks the
task-scoped token, and every state change is a compare-and-set, so a replayed or redelivered
message can never run a task twice or overwrite a newer state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from tradewind.core.execution import Outcome
from tradewind.core.states import TaskInstanceState as TI
from tradewind.errors import NotFound, TaskInstanceMoved
from tradewind.metastore.tables import (
    TaskInstance,
    TaskInstanceHistory,
    TaskReschedule,
    Trigger,
)
from tradewind.sdk.serialization import SerializedDag
from tradewind.services import telemetry
from tradewind.services import xcom as xcom_store
from tradewind.services.dag_store import get_serialized_dag
from tradewind.services.env import Env
from tradewind.services.execution_claim import claim_row
from tradewind.services.execution_ext import ExecutionExtensions, outlet_events
from tradewind.services.execution_logs import (
    ExecutionLogs,
    remember_key,
    store_log,
    write_try_log,
)
from tradewind.services.execution_state import ExecutionStateStore
from tradewind.services.finish_pg import one_statement_connection, write_finish_pg
from tradewind.services.mapping import split_rendered
from tradewind.services.outcomes import next_state
from tradewind.services.ti_state import cas, ti_columns, touch_runs
from tradewind.services.tokens import (
    CALLBACK_SCOPE,
    CALLBACK_TOKEN_TTL,
    check_current_try,
    is_callback_token,
    issue_ti_token,
    stale_leg_message,
    verify_ti_leg,
)
from tradewind.services.try_end import repeated_finish, reported_try, write_finish
from tradewind.services.wakeup import DEFERRED, TASK_ENDED, TRIGGERERS, notify_try_ended

# Table objects: hot paths use Core statements, which cost a fraction of ORM ones.
TIT = TaskInstance.__table__
TIc = TIT.c
HT = cast(Table, TaskInstanceHistory.__table__)

logger = logging.getLogger("tradewind.services.execution")

_HEARTBEAT = ti_columns(
    TIc.id == bindparam("ti_id"),
    TIc.state == TI.RUNNING.value,
    TIc.try_number == bindparam("for_try"),
    TIc.queue_seq == bindparam("for_seq"),
).values(last_heartbeat_at=bindparam("now"))


def _prev_answer(prev: Any) -> dict[str, Any] | None:
    """The claim's ``prev_success``: the DAG's previous successful run, or None."""
    if prev is None:
        return None
    return {
        "data_interval_start": _iso(prev.data_interval_start),
        "data_interval_end": _iso(prev.data_interval_end),
        "start_date": _iso(prev.start_date),
        "end_date": _iso(prev.end_date),
        "logical_date": _iso(prev.logical_date),
    }


def _stored_or_error(ti_id: int, write: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """What ``finish`` answers about the log it stored: where, or why not (a full disk does
    not stop the outcome)."""
    try:
        return write()
    except OSError as exc:
        logger.error("log of task instance %s not stored: %s", ti_id, exc)
        return {"error": f"log not stored: {exc}"}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class ExecutionService(ExecutionExtensions, ExecutionStateStore, ExecutionLogs):
    """Implements every method of :data:`tradewind.core.execution_api.METHODS` on the
    metastore: the try's calls here, the cross-DAG ones in ``services/execution_ext.py``, log
    uploads and token checks in ``services/execution_logs.py``."""

    def __init__(self, env: Env, *, skip_retry_delay: bool = False):
        self.env = env
        self.skip_retry_delay = skip_retry_delay
        self._dags: dict[tuple[str, str | None], SerializedDag] = {}
        self._secret = env.secret_key
        #: Wake schedulers after outcomes. The scheduler's own instance turns this off: its
        #: loop runs right after serving the call anyway.
        self.wake_on_change = True
        self.max_lost_requeues = int(env.settings.get("scheduler", "max_lost_try_requeues"))

    # -- helpers ---------------------------------------------------------------------------
    def _sdag(self, session: Session, dag_id: str, version: str | None) -> SerializedDag:
        key = (dag_id, version)
        sdag = self._dags.get(key)
        if sdag is None:
            sdag = get_serialized_dag(session, dag_id, version)
            if len(self._dags) > 256:
                self._dags.clear()
            self._dags[key] = sdag
        return sdag

    def _ti(self, session: Session, ti_id: int) -> TaskInstance:
        ti = session.get(TaskInstance, ti_id)
        if ti is None:
            raise NotFound(f"task instance {ti_id} not found")
        return ti

    def _check(self, ti_id: int, token: str, *, read: bool = False) -> int:
        """Verify the token; return its try, which must be the current one and running, in
        the token's leg; a callback token (from ``finish``) may only ``read``, while its try
        is still the current one."""
        try_number, seq = verify_ti_leg(self._secret, token, ti_id, callback_ok=read)
        with self.env.db.engine.connect() as c:
            running = not (read and is_callback_token(token))
            check_current_try(c, ti_id, try_number, running=running, seq=seq)
        return try_number

    def _check_leg(self, ti_id: int, token: str) -> tuple[int, int]:
        """Verify the token; return its (try, leg), which the call's own compare-and-set
        checks against the task instance (no query here)."""
        return verify_ti_leg(self._secret, token, ti_id)

    # -- the API ---------------------------------------------------------------------------
    def claim(self, ti_id: int, token: str, hostname: str, pid: int) -> dict[str, Any]:
        try_number, seq = self._check_leg(ti_id, token)
        now = self.env.now()
        # Prebuilt Core statements on one connection: this is the hot path of every task start.
        params = {
            "ti_id": ti_id,
            "for_try": try_number,
            "for_seq": seq,
            "now": now,
            "by_host": hostname,
            "by_pid": pid,
        }
        # One statement on PostgreSQL (in autocommit: no BEGIN and COMMIT round trips).
        with one_statement_connection(self.env.db.engine) as c:
            ti, run, prev_run = claim_row(c, params, ti_id, try_number, seq, hostname, pid)
        prev = _prev_answer(prev_run)
        telemetry.try_started(ti.dag_id, ti.task_id)
        answer = {
            "ti": {
                "id": ti.id,
                "dag_id": ti.dag_id,
                "run_id": ti.run_id,
                "task_id": ti.task_id,
                "map_index": ti.map_index,
                "try_number": ti.try_number,
                "max_tries": ti.max_tries,
                "start_date": _iso(now),
                "hostname": hostname,
                "next_method": ti.next_method,
                "next_kwargs": ti.next_kwargs,
            },
            "dag_run": {
                "dag_id": run.dag_id,
                "run_id": run.run_id,
                "run_type": run.run_type,
                "logical_date": _iso(run.logical_date),
                "data_interval_start": _iso(run.data_interval_start),
                "data_interval_end": _iso(run.data_interval_end),
                "run_after": _iso(run.run_after),
                "start_date": _iso(run.start_date),
                "conf": run.conf or {},
                "triggered_by": run.triggered_by,
                "clear_number": run.clear_number,
            },
            "prev_success": prev,
            "dag_version": ti.dag_version,
        }
        remember_key(answer["ti"])  # where a later log upload of this try goes
        return answer

    def heartbeat(self, ti_id: int, token: str, pid: int) -> dict[str, Any]:
        try_number, seq = self._check_leg(ti_id, token)
        now = self.env.now()
        with self.env.db.engine.begin() as c:
            params = {"ti_id": ti_id, "for_try": try_number, "for_seq": seq, "now": now}
            ok = c.execute(_HEARTBEAT, params).rowcount
        return {"stop": not ok}

    def xcom_get(
        self,
        ti_id: int,
        token: str,
        dag_id: str,
        run_id: str,
        task_id: str,
        key: str,
        map_index: int,
    ) -> dict[str, Any]:
        self._check(ti_id, token, read=True)
        with self.env.db.session(readonly=True) as s:
            found, value = xcom_store.get_xcom(
                s, dag_id=dag_id, run_id=run_id, task_id=task_id, key=key, map_index=map_index
            )
        return {"found": found, "value": value}

    def xcom_set(self, ti_id: int, token: str, key: str, value: Any) -> None:
        self._check(ti_id, token)
        with self.env.db.session() as s:
            ti = self._ti(s, ti_id)
            xcom_store.set_xcom(
                s,
                dag_id=ti.dag_id,
                run_id=ti.run_id,
                task_id=ti.task_id,
                map_index=ti.map_index,
                key=key,
                value=value,
                now=self.env.now(),
                max_size=int(self.env.settings.get("core", "max_xcom_size")),
            )

    def get_variable(self, ti_id: int, token: str, key: str) -> dict[str, Any]:
        self._check(ti_id, token, read=True)
        from tradewind.services.variables import get_variable_value

        with self.env.db.session(readonly=True) as s:
            value = get_variable_value(self.env, s, key)
        return {"found": value is not None, "value": value}

    def get_connection(self, ti_id: int, token: str, conn_id: str) -> dict[str, Any]:
        self._check(ti_id, token, read=True)
        from tradewind.services.connections import get_connection_dict

        with self.env.db.session(readonly=True) as s:
            conn = get_connection_dict(self.env, s, conn_id)
        return {"found": conn is not None, "connection": conn}

    def skip_tasks(self, ti_id: int, token: str, task_ids: list[str]) -> None:
        self._check(ti_id, token)
        now = self.env.now()
        with self.env.db.session() as s:
            ti = self._ti(s, ti_id)
            rows = s.execute(
                select(TaskInstance.id).where(
                    TaskInstance.dag_id == ti.dag_id,
                    TaskInstance.run_id == ti.run_id,
                    TaskInstance.task_id.in_(task_ids),
                )
            ).scalars()
            for other in rows:
                cas(
                    s,
                    other,
                    [None, TI.SCHEDULED],
                    TI.SKIPPED,
                    now=now,
                    start_date=now,
                    end_date=now,
                    duration=0.0,
                )
            touch_runs(s, [(ti.dag_id, ti.run_id)])

    def finish(
        self,
        ti_id: int,
        token: str,
        outcome: str,
        error: str | None = None,
        rendered_fields: dict[str, Any] | None = None,
        log: str | None = None,
        asset_events: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """End the try; with ``log``, store the try's log first (a full disk does not stop the
        outcome: the answer's ``log`` then says ``{"error": ...}``). ``asset_events``: what
        the task set through ``outlet_events`` (kept only for its declared outlets)."""
        try_number, seq = self._check_leg(ti_id, token)
        result = Outcome(outcome)  # a bad outcome is refused before the log is written
        stored: dict[str, Any] | None = None
        text = "" if log is None else log

        def keep_log(ti: Any) -> None:
            # In finish's transaction, once its row shows the token's try is the current one:
            # the check store_log would make on a connection of its own, for free.
            nonlocal stored
            stored = _stored_or_error(ti_id, lambda: write_try_log(self.env, ti, try_number, text))

        try:
            answer = self.finish_try(
                ti_id,
                try_number,
                result,
                error,
                rendered_fields,
                asset_events=asset_events,
                seq=seq,
                before_write=None if log is None else keep_log,
            )
        except (TaskInstanceMoved, NotFound) as exc:
            if log is not None and stored is None:  # a past try may still store its own log
                stored = _stored_or_error(ti_id, lambda: store_log(self.env, ti_id, token, text))
            if isinstance(exc, NotFound):
                raise
            with self.env.db.engine.connect() as c:
                again = repeated_finish(c, ti_id, try_number, seq, result)
            if again is None:
                raise
            logger.info("task instance %s: finish of try %s repeated", ti_id, try_number)
            answer = {"state": again}
        # The task token ends with the try; the callbacks that run next read with this one.
        callback = issue_ti_token(
            self._secret, ti_id, try_number, CALLBACK_TOKEN_TTL, scope=CALLBACK_SCOPE, seq=seq
        )
        answer = {**answer, "callback_token": callback}
        return answer if stored is None else {**answer, "log": stored}

    def finish_try(
        self,
        ti_id: int,
        try_number: int,
        outcome: Outcome,
        error: str | None,
        rendered_fields: dict[str, Any] | None = None,
        *,
        expected: tuple[TI, ...] = (TI.RUNNING, TI.RESTARTING),
        asset_events: list[dict[str, Any]] | None = None,
        seq: int | None = None,
        before_write: Callable[[Any], None] | None = None,
    ) -> dict[str, Any]:
        """Turn an outcome into the next state (also used for lost workers and timeouts);
        with ``seq`` (a worker's report) only for that leg of the try. ``before_write`` is
        called with the task instance's row once it shows that try (and leg) is current,
        before the outcome is written."""
        now = self.env.now()
        # PostgreSQL writes the end of the try in one statement (a lost try's event aside).
        one_statement = outcome is not Outcome.LOST
        with one_statement_connection(self.env.db.engine, one_statement) as c:
            ti = reported_try(c, ti_id, try_number, expected)
            if seq is not None and ti.queue_seq != seq:
                raise TaskInstanceMoved(stale_leg_message(try_number, seq, ti.queue_seq))
            if before_write is not None:
                before_write(ti)
            current = TI(ti.state)
            duration = (now - ti.start_date).total_seconds() if ti.start_date else None
            # The try is over: a later try starts from execute(), not a deferral's resume method.
            values: dict[str, Any] = {
                "end_date": now,
                "duration": duration,
                "updated_at": now,
                "next_method": None,
                "next_kwargs": None,
            }
            if rendered_fields is not None:
                values.update(split_rendered(rendered_fields))
            task = None
            if current is not TI.RESTARTING:
                task = self._sdag_core(c, ti.dag_id, ti.dag_version).tasks.get(ti.task_id)
            new, kept, error = next_state(
                ti,
                current,
                outcome,
                task,
                error,
                values,
                now,
                max_lost=self.max_lost_requeues,
                no_delay=self.skip_retry_delay,
            )
            emit = None
            if new is TI.SUCCESS and task is not None:
                emit = outlet_events(ti, task.data, asset_events)
            pg = c.dialect.name == "postgresql"
            notified = self.wake_on_change and emit is None and pg
            if pg and one_statement:  # one round trip, NOTIFY (at commit) included
                write_finish_pg(c, ti, current, new, kept, error, values, notify=notified)
            else:
                write_finish(c, ti, current, new, kept, error, values, outcome, now)
                if notified:
                    c.execute(*notify_try_ended(ti_id, try_number))  # sent at commit
        telemetry.try_finished(ti, kept, duration, outcome is Outcome.LOST, now)
        if emit is not None:
            self._record_outlets(emit, now)
        if notified:
            self.env.wake(TASK_ENDED, True)  # local datagrams only
        elif self.wake_on_change:
            self.env.wake(TASK_ENDED)
        return {"state": new.value if new else None}

    def _record_outlets(self, emit: tuple[Any, Any, Any], now: datetime) -> None:
        """The asset events of a successful try, after its commit (their own transaction)."""
        from tradewind.services.assets import record_asset_events

        ti, uris, events = emit
        with self.env.db.session() as s:
            record_asset_events(
                s,
                uris=uris,
                dag_id=ti.dag_id,
                task_id=ti.task_id,
                run_id=ti.run_id,
                now=now,
                events=events,
            )

    def _sdag_core(self, conn: Any, dag_id: str, version: str | None) -> SerializedDag:
        """The serialized DAG, read on the caller's connection when not cached.

        Never a second pooled connection here: many finishes at once, each holding one
        connection and waiting for another, would exhaust the pool and stall for its timeout.
        """
        key = (dag_id, version)
        sdag = self._dags.get(key)
        if sdag is None:
            with Session(bind=conn) as s:
                sdag = self._sdag(s, dag_id, version)
        return sdag

    def defer(self, ti_id: int, token: str, trigger: dict[str, Any]) -> dict[str, Any]:
        try_number, seq = self._check_leg(ti_id, token)
        now = self.env.now()
        with self.env.db.session() as s:
            ti = self._ti(s, ti_id)
            if ti.try_number == try_number and ti.queue_seq != seq:
                raise TaskInstanceMoved(stale_leg_message(try_number, seq, ti.queue_seq))
            row = Trigger(
                classpath=trigger["classpath"], kwargs=trigger.get("kwargs") or {}, created_date=now
            )
            s.add(row)
            s.flush()
            timeout = trigger.get("timeout")
            ok = (
                cas(
                    s,
                    ti_id,
                    TI.RUNNING,
                    TI.DEFERRED,
                    now=now,
                    run_key=(ti.dag_id, ti.run_id),
                    trigger_id=row.id,
                    next_method=trigger["method_name"],
                    next_kwargs=trigger.get("next_kwargs") or {},
                    trigger_timeout=(now + timedelta(seconds=float(timeout))) if timeout else None,
                )
                and ti.try_number == try_number
            )
            if not ok:
                raise TaskInstanceMoved(
                    f"task instance {ti.dag_id}.{ti.task_id} is no longer running"
                )
        # The schedulers see a task end and this host's triggerers wake; in the scheduler's
        # own process (no wake-up needed) the triggerers still do.
        self.env.wake(DEFERRED if self.wake_on_change else TRIGGERERS)
        return {"state": TI.DEFERRED.value}

    def reschedule(self, ti_id: int, token: str, reschedule_date: str) -> dict[str, Any]:
        try_number, seq = self._check_leg(ti_id, token)
        now = self.env.now()
        when = datetime.fromisoformat(reschedule_date)
        with self.env.db.session() as s:
            ti = self._ti(s, ti_id)
            if ti.try_number != try_number:
                raise TaskInstanceMoved("stale try")
            if ti.queue_seq != seq:
                raise TaskInstanceMoved(stale_leg_message(try_number, seq, ti.queue_seq))
            s.add(
                TaskReschedule(
                    ti_id=ti.id,
                    try_number=ti.try_number,
                    start_date=ti.start_date or now,
                    end_date=now,
                    reschedule_date=when,
                )
            )
            ok = cas(
                s,
                ti_id,
                TI.RUNNING,
                TI.UP_FOR_RESCHEDULE,
                now=now,
                run_key=(ti.dag_id, ti.run_id),
                next_retry_at=when,
                end_date=now,
            )
            if not ok:
                raise TaskInstanceMoved(
                    f"task instance {ti.dag_id}.{ti.task_id} is no longer running"
                )
        if self.wake_on_change:
            self.env.wake(TASK_ENDED)
        return {"state": TI.UP_FOR_RESCHEDULE.value}
