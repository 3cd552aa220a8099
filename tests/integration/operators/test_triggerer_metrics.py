"""The triggerer reports its heartbeat, running triggers and fired triggers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from tradewind import DAG
from tradewind.core import metrics
from tradewind.sensors.date_time import DateTimeSensor

from .conftest import run_dag


def test_a_deferred_sensor_is_counted_by_the_triggerer(env: Any) -> None:
    soon = (datetime.now(timezone.utc) + timedelta(seconds=0.5)).isoformat()
    with DAG("deferred_metrics", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        DateTimeSensor(task_id="wait", target_time=soon, deferrable=True)
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
