"""Use cases behind ``dags test`` and ``tasks test``: store a DAG object, make its test run."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert, select

from tradewind.core.execution import Workload
from tradewind.core.states import DagRunState, DagRunType
from tradewind.core.states import TaskInstanceState as TI
from tradewind.metastore.database import Database
from tradewind.metastore.tables import (
    Connection,
    DagModel,
    DagRun,
    Pool,
    TaskInstance,
    Variable,
    XCom,
)
from tradewind.sdk.serialization import serialize_dag
from tradewind.sdk.timetables import DataInterval
from tradewind.services.dag_store import ParsedFile, get_serialized_dag, store_parse_results
from tradewind.services.env import Env
from tradewind.services.queueing import ensure_default_pool
from tradewind.services.runs import create_run, get_run, run_id_for
from tradewind.services.ti_state import ANY, ti_update
from tradewind.services.tokens import issue_ti_token
from tradewind.settings import Settings

# What a try run by ``tasks test`` may read from the real metastore: copied into its scratch one.
_SHARED_TABLES = [cast(Table, t.__table__) for t in (Variable, Connection, Pool)]
_XCOM = cast(Table, XCom.__table__)


@contextmanager
def scratch_env(env: Env) -> Iterator[Env]:
    """A throwaway SQLite metastore (and log folder) for ``tasks test``.

    As Airflow's ``tasks test`` records nothing, the try writes its states, XComs and log
    into this scratch copy, never into the real metastore: no run, try or retry is left for a
    scheduler to act on. Variables, connections (still encrypted with the same Fernet key)
    and pools are copied in so the task reads what it would in a real run; see
    :func:`mirror_run` for the run itself. Deleted when the block ends.
    """
    folder = Path(tempfile.mkdtemp(prefix="tradewind-tasks-test-"))
    settings = Settings(home=env.settings.home, values=env.settings.as_dict())
    settings.set("database", "sql_alchemy_conn", f"sqlite:///{folder / 'scratch.db'}")
    settings.set("logging", "base_log_folder", str(folder / "logs"))
    scratch = Env(settings=settings, db=Database(settings.sql_alchemy_conn), clock=env.clock)
    try:
        scratch.db.migrate()
        with env.db.session(readonly=True) as src, scratch.db.session() as dst:
            for table in _SHARED_TABLES:
                rows = [dict(r) for r in src.execute(select(table)).mappings()]
                if table.name == "slot_pool":
                    dst.execute(table.delete())  # the migration made default_pool already
                if rows:
                    dst.execute(insert(table), rows)
        yield scratch
    finally:
        scratch.db.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def mirror_run(env: Env, scratch: Env, dag_id: str, logical_date: datetime) -> str | None:
    """Copy the real run of ``logical_date`` (its id, type, conf, interval, XComs) into the
    scratch metastore, so the tested task pulls its upstream's real XComs; return its run id,
    or None when there is no such run."""
    with env.db.session(readonly=True) as s:
        real = s.execute(
            select(DagRun).where(DagRun.dag_id == dag_id, DagRun.logical_date == logical_date)
        ).scalar_one_or_none()
        if real is None:
            return None
        xcoms = [
            dict(r)
            for r in s.execute(
                select(_XCOM).where(_XCOM.c.dag_id == dag_id, _XCOM.c.run_id == real.run_id)
            ).mappings()
        ]
        run_type = DagRunType(real.run_type)
        conf = real.conf
        run_id = real.run_id
        run_after = real.run_after
        interval = (
            (real.data_interval_start, real.data_interval_end)
            if real.data_interval_start is not None
            else None
        )
    with scratch.db.session() as s:
        sdag = get_serialized_dag(s, dag_id)
        data_interval = (
            sdag.timetable.infer_manual_data_interval(run_after=logical_date)
            if interval is None
            else DataInterval(*interval)  # type: ignore[arg-type]
        )
        run = create_run(
            s,
            sdag,
            run_id=run_id,
            run_type=run_type,
            logical_date=logical_date,
            data_interval=data_interval,
            run_after=run_after,
            conf=conf,
            now=scratch.now(),
            state=DagRunState.RUNNING,
            triggered_by="test",
        )
        run.start_date = scratch.now()
        if xcoms:
            s.execute(insert(_XCOM), xcoms)
    return run_id


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
) -> str:
    """Create a manual run for ``logical_date`` (replacing an older test run of that date)."""
    now = env.now()
    with env.db.session() as s:
        sdag = get_serialized_dag(s, dag_id)
        existing = s.execute(
            select(DagRun).where(DagRun.dag_id == dag_id, DagRun.logical_date == logical_date)
        ).scalar_one_or_none()
        if existing is not None:
            s.delete(existing)
            s.execute(
                cast(Table, TaskInstance.__table__)
                .delete()
                .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == existing.run_id)
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


def queue_single_task(
    env: Env, dag_id: str, run_id: str, task_id: str, map_index: int = -1
) -> Workload:
    """Put one task instance of a run in ``queued`` (ignoring its upstream) and return its
    workload. For a mapped task, ``map_index`` names the instance (made if not expanded yet)."""
    now = env.now()
    with env.db.session() as s:
        get_run(s, dag_id, run_id)
        ti = _test_instance(s, dag_id, run_id, task_id, map_index)
        s.execute(  # a test's shortcut past scheduling: audited like a user's mark
            ti_update(ANY, TI.QUEUED, TaskInstance.id == ti.id, audited=True).values(
                try_number=TaskInstance.try_number + 1,
                queue_seq=TaskInstance.queue_seq + 1,
                queued_dttm=now,
                updated_at=now,
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
            token=issue_ti_token(env.secret_key, ti.id, ti.try_number, 3600, seq=ti.queue_seq),
        )


def _test_instance(s: Any, dag_id: str, run_id: str, task_id: str, map_index: int) -> TaskInstance:
    from tradewind.errors import InvalidInput

    of_task = list(
        s.execute(
            select(TaskInstance).where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id == run_id,
                TaskInstance.task_id == task_id,
            )
        ).scalars()
    )
    sdag = get_serialized_dag(s, dag_id, of_task[0].dag_version if of_task else None)
    mapped = sdag.tasks[task_id].is_mapped
    if mapped and map_index < 0:
        raise InvalidInput(f"task {task_id!r} is mapped: give the instance with --map-index N")
    if not mapped and map_index >= 0:
        raise InvalidInput(f"task {task_id!r} is not mapped: --map-index does not apply")
    for ti in of_task:
        if ti.map_index == map_index:
            return ti  # type: ignore[no-any-return]
    placeholder = next((t for t in of_task if t.map_index == -1), None)
    if placeholder is None:
        raise InvalidInput(f"task {task_id!r} has no instance with map index {map_index}")
    placeholder.map_index = map_index  # not expanded yet: test this index alone
    s.flush()
    return placeholder  # type: ignore[no-any-return]


def deferred_triggers(env: Any, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """The triggers of the run's deferred task instances that no triggerer has claimed.

    ``dags test`` runs them inline, as Airflow's does, so a deferrable sensor finishes
    without a triggerer process.
    """
    from tradewind.metastore.tables import Trigger

    with env.db.session(readonly=True) as s:
        rows = s.execute(
            select(Trigger.id, Trigger.classpath, Trigger.kwargs)
            .join(TaskInstance, TaskInstance.trigger_id == Trigger.id)
            .where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id == run_id,
                TaskInstance.state == TI.DEFERRED.value,
                Trigger.triggerer_id.is_(None),
            )
        ).all()
    return [{"id": r.id, "classpath": r.classpath, "kwargs": r.kwargs} for r in rows]
