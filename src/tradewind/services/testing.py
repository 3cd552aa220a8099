"""Use cases behind ``dags test`` and ``tasks test``: store a DAG object, make its test run."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from typing import Any

from sqlalchemy import select

from tradewind.core.execution import Workload
from tradewind.core.states import DagRunState, DagRunType
from tradewind.core.states import TaskInstanceState as TI
from tradewind.dag_processing.parser import ParsedFile
from tradewind.metastore.tables import DagModel, DagRun, TaskInstance
from tradewind.sdk.serialization import serialize_dag
from tradewind.services.dag_store import get_serialized_dag, store_parse_results
from tradewind.services.env import Env
from tradewind.services.queueing import ensure_default_pool
from tradewind.services.runs import create_run, get_run, run_id_for
from tradewind.services.ti_state import ANY, ti_update
from tradewind.services.tokens import issue_ti_token


def store_dag_object(env: Env, dag: Any) -> str:
    """Serialize and store an in-memory DAG (as the DAG processor would); return its version."""
    path = os.path.abspath(dag.fileloc)
    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
        mtime = os.stat(path).st_mtime
    except OSError:
        source, mtime = "", 0.0
    dags = [serialize_dag(dag)]
    with env.db.session(readonly=True) as s:
        # Keep the file's other DAGs as they are stored: storing one DAG of a file must not
        # deactivate its siblings.
        for other in s.execute(
            select(DagModel).where(
                DagModel.fileloc == path,
                DagModel.dag_id != dag.dag_id,
                DagModel.is_active.is_(True),
            )
        ).scalars():
            dags.append(get_serialized_dag(s, other.dag_id).data)
    parsed = ParsedFile(
        path=path,
        mtime=mtime,
        content_hash=hashlib.sha256(source.encode()).hexdigest(),
        dags=dags,
        source=source,
    )
    with env.db.session() as s:
        ensure_default_pool(s)
        store_parse_results(
            s,
            [parsed],
            dags_folder=str(env.settings.dags_folder),
            paused_at_creation=bool(env.settings.get("core", "dags_are_paused_at_creation")),
            now=env.now(),
        )
    with env.db.session(readonly=True) as s:
        return get_serialized_dag(s, dag.dag_id).version


def make_test_run(
    env: Env,
    dag_id: str,
    logical_date: datetime,
    conf: dict[str, Any] | None,
    *,
    reuse: bool = False,
) -> str:
    """Create a manual run for ``logical_date`` (replacing an older test run of that date)."""
    now = env.now()
    with env.db.session() as s:
        sdag = get_serialized_dag(s, dag_id)
        existing = s.execute(
            select(DagRun).where(DagRun.dag_id == dag_id, DagRun.logical_date == logical_date)
        ).scalar_one_or_none()
        if existing is not None:
            if reuse:
                return existing.run_id
            s.delete(existing)
            s.execute(
                TaskInstance.__table__.delete().where(
                    TaskInstance.dag_id == dag_id, TaskInstance.run_id == existing.run_id
                )
            )
            s.flush()
        interval = sdag.timetable.infer_manual_data_interval(run_after=logical_date)
        run = create_run(
            s,
            sdag,
            run_id=run_id_for(DagRunType.MANUAL, logical_date),
            run_type=DagRunType.MANUAL,
            logical_date=logical_date,
            data_interval=interval,
            run_after=logical_date,
            conf=conf,
            now=now,
            state=DagRunState.RUNNING,
            triggered_by="test",
        )
        run.start_date = now
        return run.run_id


def queue_single_task(env: Env, dag_id: str, run_id: str, task_id: str) -> Workload:
    """Put one task instance of a run in ``queued`` (ignoring its upstream) and return its workload."""
    now = env.now()
    with env.db.session() as s:
        get_run(s, dag_id, run_id)
        ti = s.execute(
            select(TaskInstance).where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id == run_id,
                TaskInstance.task_id == task_id,
            )
        ).scalar_one()
        s.execute(  # a test's shortcut past scheduling: audited like a user's mark
            ti_update(ANY, TI.QUEUED, TaskInstance.id == ti.id, audited=True).values(
                try_number=TaskInstance.try_number + 1, queued_dttm=now, updated_at=now
            )
        )
        s.flush()
        s.refresh(ti)
        sdag = get_serialized_dag(s, dag_id, ti.dag_version)
        return Workload(
            ti_id=ti.id,
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            map_index=ti.map_index,
            try_number=ti.try_number,
            fileloc=sdag.fileloc,
            dag_version=ti.dag_version,
            token=issue_ti_token(env.secret_key, ti.id, ti.try_number, 3600),
        )
