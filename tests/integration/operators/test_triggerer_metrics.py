"""The triggerer reports its heartbeat, running triggers and fired triggers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tradewind import DAG
from tradewind.core import metrics
from tradewind.sdk.triggers import TimeDeltaTrigger

from .conftest import run_dag
from .test_deferral import DeferOnce


def test_a_deferred_task_is_counted_by_the_triggerer(env: Any) -> None:
    # A trigger relative to the try's start: it always defers, however late the try starts
    # (a sensor with a fixed target time could find it passed under load and never defer).
    with DAG("deferred_metrics", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        DeferOnce(task_id="wait", trigger_factory=lambda: TimeDeltaTrigger(timedelta(seconds=0.3)))
    rec = metrics.Recorder()
    metrics.configure(rec)
    try:
        result = run_dag(env, dag, triggerer=True, timeout=30)
    finally:
        metrics.configure(None)
    assert result.states == {"wait": "success"}
    assert rec.named("triggerer_heartbeat")
    assert sum(r[2] for r in rec.named("triggers.succeeded")) == 1
    assert max(r[2] for r in rec.named("triggers.running")) == 1
    assert not rec.named("triggers.failed")
