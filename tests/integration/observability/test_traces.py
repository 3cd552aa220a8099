"""Traces (extra ``otel``): a span per DAG run, a child span per try, and the task's own
spans under its try's span, joined by ids the worker derives from its workload alone."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from tradewind import DAG  # noqa: E402
from tradewind.core import tracecontext  # noqa: E402
from tradewind.dag_test import run_dag_in_process  # noqa: E402
from tradewind.observability import tracing  # noqa: E402
from tradewind.operators.python import PythonOperator  # noqa: E402

DAY = datetime(2026, 1, 1, tzinfo=timezone.utc)


SEEN: list[str] = []


def _work() -> int:
    import os

    SEEN.append(os.environ.get("TRACEPARENT", ""))
    with trace.get_tracer("user.code").start_as_current_span("load rows"):
        return 7


def _boom() -> None:
    raise RuntimeError("no")


def test_run_try_and_task_spans_form_one_trace(env: Any) -> None:
    exporter = InMemorySpanExporter()
    assert tracing.setup_tracing(env.settings, exporter=exporter)
    try:
        with DAG("traced", schedule=None, start_date=DAY) as dag:
            first = PythonOperator(task_id="first", python_callable=_work)
            first >> PythonOperator(task_id="second", python_callable=_boom)
        result = run_dag_in_process(dag, DAY, env=env, echo=False)
    finally:
        tracing.stop_tracing()
    assert result.state == "failed"
    spans = {s.name: s for s in exporter.get_finished_spans()}
    run, first_try, second_try, user = (
        spans["dag_run traced"],
        spans["ti first"],
        spans["ti second"],
        spans["load rows"],
    )
    trace_id = tracecontext.run_trace_id("traced", result.run_id)
    assert {s.context.trace_id for s in spans.values()} == {trace_id}
    assert run.parent is None
    assert first_try.parent.span_id == run.context.span_id
    assert second_try.parent.span_id == run.context.span_id
    assert user.parent.span_id == first_try.context.span_id  # across the worker boundary
    expected = f"00-{trace_id:032x}-{first_try.context.span_id:016x}-01"
    assert [expected] == SEEN  # what programs the task starts see
    assert first_try.attributes["airflow.state"] == "success"
    assert [e.name for e in first_try.events] == ["queued", "running", "success"]
    assert second_try.attributes["airflow.state"] == "failed"
    assert not second_try.status.is_ok and not run.status.is_ok
    assert run.start_time <= first_try.start_time <= first_try.end_time <= run.end_time


def test_traces_are_off_by_default(env: Any) -> None:
    assert not tracing.setup_tracing(env.settings)
    with tracing.task_context("d", "r", "t", -1, 1) as header:
        assert header is None  # nothing computed, nothing attached
        assert trace.get_current_span().get_span_context().is_valid is False


def test_traceparent_is_w3c() -> None:
    trace_id = tracecontext.run_trace_id("d", "r")
    span_id = tracecontext.try_span_id("d", "r", "t", -1, 1)
    assert trace_id != tracecontext.run_trace_id("d", "r2")
    assert tracecontext.traceparent(trace_id, span_id) == f"00-{trace_id:032x}-{span_id:016x}-01"
