"""Execution-API calls for operators that look at other DAGs (trigger a run, read states)
and for ``inlet_events`` in task code (read an asset's recorded events).

``TriggerDagRunOperator`` and ``ExternalTaskSensor`` run on workers, which hold no database
session, so they ask through the task's execution-API transport like every other call. Each
call checks the caller's task-scoped token.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select

from tradewind.errors import AlreadyExists, NotFound
from tradewind.metastore.tables import AssetEvent, AssetModel, DagRun, TaskInstance
from tradewind.services.env import Env
from tradewind.services.tokens import check_current_try, is_callback_token, verify_ti_leg

log = logging.getLogger(__name__)

#: The method names every transport must forward (local pipe, HTTP execution API).
EXTENSION_METHODS = ("trigger_dag_run", "get_dag_run_state", "get_task_states", "get_asset_events")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class ExecutionExtensions:
    """Mixin of the extension calls; needs ``self.env`` (and checks tokens itself)."""

    env: Env

    def _check_ext(self, ti_id: int, token: str, *, read: bool = False) -> int:
        """As ``ExecutionService._check``: the token's try must be the current running one."""
        try_number, seq = verify_ti_leg(self.env.secret_key, token, ti_id, callback_ok=read)
        with self.env.db.engine.connect() as c:
            running = not (read and is_callback_token(token))
            check_current_try(c, ti_id, try_number, running=running, seq=seq)
        return try_number

    def trigger_dag_run(
        self,
        ti_id: int,
        token: str,
        dag_id: str,
        run_id: str | None,
        conf: dict[str, Any] | None,
        logical_date: str | None,
        reset_dag_run: bool = False,
    ) -> dict[str, Any]:
        """Create a manual run of ``dag_id``; with ``reset_dag_run`` clear an existing one.

        Answer ``{"dag_id", "run_id", "logical_date", "state", "created"}``; raise
        AlreadyExists when the run exists and ``reset_dag_run`` is False.
        """
        self._check_ext(ti_id, token)
        from tradewind.services.runs import trigger_run

        when = datetime.fromisoformat(logical_date) if logical_date else None
        now = self.env.now()
        with self.env.db.session() as s:
            caller = s.get(TaskInstance, ti_id)
            existing = self._existing_run(s, dag_id, run_id, when)
            if existing is not None:
                if not reset_dag_run:
                    raise AlreadyExists(f"DAG {dag_id!r} already has the run {existing.run_id}")
                from tradewind.services.task_instances import clear_task_instances

                clear_task_instances(s, dag_id, run_id=existing.run_id, now=now, user=_who(caller))
                answer = self._run_answer(existing, created=False)
            else:
                run = trigger_run(
                    s,
                    dag_id,
                    now=now,
                    conf=conf or {},
                    run_id=run_id,
                    logical_date=when,
                    logical_date_given=logical_date is not None,
                    user=_who(caller),
                    triggered_by="operator",
                    run_id_pattern=self.env.settings.get("scheduler", "allowed_run_id_pattern"),
                )
                answer = self._run_answer(run, created=True)
        self.env.wake()
        return answer

    @staticmethod
    def _existing_run(
        s: Any, dag_id: str, run_id: str | None, when: datetime | None
    ) -> DagRun | None:
        q = select(DagRun).where(DagRun.dag_id == dag_id)
        if run_id:
            q = q.where(DagRun.run_id == run_id)
        elif when is not None:
            q = q.where(DagRun.logical_date == when)
        else:
            return None
        return s.execute(q).scalar_one_or_none()  # type: ignore[no-any-return]

    @staticmethod
    def _run_answer(run: DagRun, *, created: bool) -> dict[str, Any]:
        return {
            "dag_id": run.dag_id,
            "run_id": run.run_id,
            "logical_date": _iso(run.logical_date),
            "state": run.state,
            "created": created,
        }

    def get_dag_run_state(self, ti_id: int, token: str, dag_id: str, run_id: str) -> dict[str, Any]:
        """Answer ``{"found": bool, "state": str | None}`` for a run of any DAG."""
        self._check_ext(ti_id, token, read=True)
        with self.env.db.session(readonly=True) as s:
            state = s.execute(
                select(DagRun.state).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
            ).scalar_one_or_none()
        return {"found": state is not None, "state": state}

    def get_task_states(
        self,
        ti_id: int,
        token: str,
        dag_id: str,
        run_id: str | None,
        logical_date: str | None,
        task_ids: list[str] | None,
    ) -> dict[str, Any]:
        """Answer the state of a run (by run id or logical date) and of some of its tasks.

        ``{"run_found": bool, "run_id", "run_state", "states": {task_id: state}}``; with
        ``task_ids`` None every task of the run is listed.
        """
        self._check_ext(ti_id, token, read=True)
        with self.env.db.session(readonly=True) as s:
            q = select(DagRun).where(DagRun.dag_id == dag_id)
            if run_id:
                q = q.where(DagRun.run_id == run_id)
            elif logical_date:
                q = q.where(DagRun.logical_date == datetime.fromisoformat(logical_date))
            else:
                raise NotFound("get_task_states needs a run_id or a logical_date")
            run = s.execute(q.limit(1)).scalar_one_or_none()
            if run is None:
                return {"run_found": False, "run_id": None, "run_state": None, "states": {}}
            tq = select(TaskInstance.task_id, TaskInstance.state).where(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id
            )
            if task_ids is not None:
                tq = tq.where(TaskInstance.task_id.in_(task_ids))
            states = {t: st for t, st in s.execute(tq).all()}
        return {"run_found": True, "run_id": run.run_id, "run_state": run.state, "states": states}

    def get_asset_events(
        self, ti_id: int, token: str, uri: str | None = None, alias: str | None = None
    ) -> list[dict[str, Any]]:
        """The recorded events of asset ``uri`` or alias ``alias``, oldest first (at most the
        newest ``MAX_INLET_EVENTS``): what ``inlet_events[...]`` reads in task code."""
        self._check_ext(ti_id, token, read=True)
        if (uri is None) == (alias is None):
            raise NotFound("get_asset_events needs exactly one of uri and alias")
        q = select(AssetEvent, AssetModel.uri).join(
            AssetModel, AssetModel.id == AssetEvent.asset_id
        )
        if uri is not None:
            q = q.where(AssetModel.uri == uri)
        else:
            q = q.where(AssetEvent.source_alias_name == alias)
        q = q.order_by(AssetEvent.timestamp.desc(), AssetEvent.id.desc()).limit(MAX_INLET_EVENTS)
        with self.env.db.session(readonly=True) as s:
            rows = s.execute(q).all()
        return [_event_json(e, u) for e, u in reversed(rows)]


#: the most events ``inlet_events[...]`` returns (the newest ones)
MAX_INLET_EVENTS = 1000


def _event_json(e: AssetEvent, uri: str) -> dict[str, Any]:
    return {
        "id": e.id,
        "uri": uri,
        "extra": e.extra or {},
        "timestamp": _iso(e.timestamp),
        "source_dag_id": e.source_dag_id,
        "source_task_id": e.source_task_id,
        "source_run_id": e.source_run_id,
        "source_map_index": e.source_map_index,
        "source_alias_name": e.source_alias_name,
    }


def outlet_events(
    ti: Any, task: dict[str, Any], reported: list[dict[str, Any]] | None
) -> tuple[Any, list[str], list[dict[str, Any]]] | None:
    """What a successful try emits: its outlet URIs, and the reported extras and alias
    events that name its declared outlets (anything else is dropped, with a warning)."""
    uris = list(task.get("outlets") or ())
    aliases = set(task.get("outlet_aliases") or ())
    kept = []
    for event in reported or ():
        alias = event.get("alias")
        if (alias in aliases) if alias else (event.get("uri") in uris):
            kept.append(event)
        else:
            what = f"alias {alias!r}" if alias else f"asset {event.get('uri')!r}"
            log.warning("task %s reported an event for %s, not in its outlets", ti.task_id, what)
    if not uris and not kept:
        return None
    return ti, uris, kept


def _who(ti: TaskInstance | None) -> str | None:
    return f"{ti.dag_id}.{ti.task_id}" if ti is not None else None
