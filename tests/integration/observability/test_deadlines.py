"""Deadline alerts on a real metastore: recorded with the run, missed once, met silently,
and the callback run on the worker side with its notifier."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tradewind import DAG
from tradewind.core import metrics
from tradewind.metastore.tables import Deadline, EventLog
from tradewind.operators.empty import EmptyOperator
from tradewind.sdk.deadline import (
    AsyncCallback,
    DeadlineAlert,
    DeadlineReference,
    SyncCallback,
    deadline_time,
)
from tradewind.services import deadlines
from tradewind.services import runs as run_service
from tradewind.services.scheduling import DagCache
from tradewind.services.testing import store_dag_object
from tradewind.worker.runner import run_deadline_callback

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
CALLS: list[dict[str, Any]] = []


def note(context: dict[str, Any], **kwargs: Any) -> None:
    CALLS.append({"kwargs": kwargs, "run_id": context["run_id"], "deadline": context["deadline"]})


def _dag() -> DAG:
    with DAG(
        "late_dag",
        schedule=None,
        start_date=T0,
        deadline=DeadlineAlert(
            reference=DeadlineReference.DAGRUN_QUEUED_AT,
            interval=timedelta(minutes=10),
            callback=SyncCallback(note, kwargs={"who": "ops"}),
        ),
    ) as dag:
        EmptyOperator(task_id="a")
    return dag


def _trigger(env: Any, now: datetime) -> str:
    with env.db.session() as s:
        return run_service.trigger_run(s, "late_dag", now=now).run_id


def test_a_run_that_misses_its_deadline_is_alerted_once(env: Any) -> None:
    store_dag_object(env, _dag())
    run_id = _trigger(env, T0)
    rec = metrics.Recorder()
    metrics.configure(rec)
    try:
        with env.db.session() as s:
            assert deadlines.find_missed(s, T0 + timedelta(minutes=9)) == []  # not yet
        with env.db.session() as s:
            work = deadlines.missed_callbacks(s, T0 + timedelta(minutes=11), DagCache())
        with env.db.session() as s:
            again = deadlines.find_missed(s, T0 + timedelta(minutes=12))
    finally:
        metrics.configure(None)
    assert again == []
    (w,) = work
    assert (w.kind, w.callback["type"], w.callback["run_id"]) == ("callback", "deadline", run_id)
    assert w.callback["deadline_time"] == (T0 + timedelta(minutes=10)).isoformat()
    assert [r[3] for r in rec.named("dagrun.deadline_missed")] == [
        {"dag_id": "late_dag", "deadline": "0"}
    ]
    with env.db.session(readonly=True) as s:
        events = s.execute(select(EventLog).where(EventLog.event == "deadline_missed")).scalars()
        assert [(e.dag_id, e.run_id) for e in events] == [("late_dag", run_id)]
        (shown,) = deadlines.missed_deadlines(s, "late_dag")
        assert shown.run_id == run_id and shown.callback.endswith("test_deadlines.note")


def test_a_run_that_ends_in_time_meets_its_deadline(env: Any) -> None:
    store_dag_object(env, _dag())
    run_id = _trigger(env, T0)
    with env.db.session() as s:
        run = run_service.get_run(s, "late_dag", run_id)
        run.state, run.end_date = "success", T0 + timedelta(minutes=3)
    with env.db.session() as s:
        assert deadlines.find_missed(s, T0 + timedelta(minutes=11)) == []
    with env.db.session(readonly=True) as s:
        assert s.execute(select(Deadline)).first() is None  # met: nothing left to watch


def test_the_worker_runs_the_callback_with_its_kwargs(tmp_path: Path) -> None:
    CALLS.clear()
    info = {"dag_id": "late_dag", "run_id": "r1", "alert_index": 0}
    info["deadline_time"] = T0.isoformat()
    assert run_deadline_callback(_dag(), info, tmp_path, echo=False) == "callback_done"
    (call,) = CALLS
    assert call["kwargs"] == {"who": "ops"} and call["run_id"] == "r1"
    assert call["deadline"]["deadline_time"] == T0


def test_references_and_bad_arguments() -> None:
    class Run:
        queued_at = T0
        logical_date = T0 - timedelta(days=1)
        data_interval_end = T0 - timedelta(hours=1)

    def alert(ref: Any) -> dict[str, Any]:
        return DeadlineAlert(ref, timedelta(minutes=5), AsyncCallback(note)).serialize()

    five = timedelta(minutes=5)
    assert deadline_time(alert(DeadlineReference.DAGRUN_QUEUED_AT), Run) == T0 + five
    assert (
        deadline_time(alert(DeadlineReference.DAGRUN_LOGICAL_DATE), Run) == Run.logical_date + five
    )
    assert (
        deadline_time(alert(DeadlineReference.DAGRUN_DATA_INTERVAL_END), Run)
        == Run.data_interval_end + five
    )
    fixed = DeadlineReference.FIXED_DATETIME(datetime(2026, 5, 1))
    assert deadline_time(alert(fixed), Run) == datetime(2026, 5, 1, tzinfo=timezone.utc) + five
    with pytest.raises(TypeError, match="timedelta"):
        DeadlineAlert(DeadlineReference.DAGRUN_QUEUED_AT, 5, AsyncCallback(note))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="DeadlineAlert objects"):
        DAG("bad_deadline", schedule=None, start_date=T0, deadline="soon")
