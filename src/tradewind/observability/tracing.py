"""OpenTelemetry traces (extra ``otel``, ``[traces] otel_on``): a span per DAG run, a child
span per try, and the try's span as the parent of the task's own spans on the worker.

Spans are recorded after the fact with their real start and end times (a run can last
hours; nothing is held open), with ids from ``core/tracecontext.py`` so that every process
agrees on them. Off (the default), each hook is one check of a module flag.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from tradewind.core import tracecontext as tc
from tradewind.settings import Settings

ON = False
_tracer: Any = None
_preset = threading.local()


def _ns(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000_000)


def _id_generator() -> Any:
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

    class KeyedIds(RandomIdGenerator):
        """Random ids, except while a span of a run or try is being recorded."""

        def generate_span_id(self) -> int:
            preset = getattr(_preset, "span_id", None)
            return preset if preset is not None else super().generate_span_id()

        def generate_trace_id(self) -> int:
            preset = getattr(_preset, "trace_id", None)
            return preset if preset is not None else super().generate_trace_id()

    return KeyedIds()


def setup_tracing(settings: Settings, exporter: Any = None) -> bool:
    """Turn traces on in this process if ``[traces] otel_on`` (or an ``exporter`` is given,
    as tests do with an in-memory one); return whether they are on."""
    global ON, _tracer
    if ON or (exporter is None and not settings.get("traces", "otel_on")):
        return ON  # once per process: OpenTelemetry keeps the first global provider
    from tradewind.observability.otel_metrics import _require_otel, otlp_endpoint

    _require_otel()
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({"service.name": str(settings.get("traces", "otel_service"))}),
        id_generator=_id_generator(),
    )
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        g = settings.get
        endpoint = otlp_endpoint(
            str(g("traces", "otel_host")),
            int(g("traces", "otel_port")),
            bool(g("traces", "otel_ssl_active")),
            "/v1/traces",
        )
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    from opentelemetry import trace

    trace.set_tracer_provider(provider)  # the task's own tracers find it
    _tracer = provider.get_tracer("tradewind")
    ON = True
    return True


def stop_tracing() -> None:
    """Flush and turn traces off (tests; process exit)."""
    global ON, _tracer
    if _tracer is not None:
        from opentelemetry import trace

        provider = trace.get_tracer_provider()
        with contextlib.suppress(Exception):
            provider.shutdown()  # type: ignore[attr-defined]
    ON, _tracer = False, None


def _parent(trace_id: int, span_id: int) -> Any:
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    ctx = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return trace.set_span_in_context(NonRecordingSpan(ctx))


def _record(
    name: str,
    ids: tuple[int, int],
    parent: Any,
    start: datetime,
    end: datetime,
    attrs: dict[str, Any],
    error: bool,
    events: tuple[tuple[str, datetime | None], ...] = (),
) -> None:
    from opentelemetry.trace import SpanKind, Status, StatusCode

    _preset.trace_id, _preset.span_id = ids
    try:
        span = _tracer.start_span(
            name, context=parent, kind=SpanKind.INTERNAL, start_time=_ns(start), attributes=attrs
        )
    finally:
        _preset.trace_id = _preset.span_id = None
    for event, when in events:
        if when is not None:
            span.add_event(event, timestamp=_ns(when))
    if error:
        span.set_status(Status(StatusCode.ERROR))
    span.end(end_time=_ns(end))


def run_ended(dag_id: str, run_id: str, state: str, start: datetime | None, end: datetime) -> None:
    """Record a DAG run's root span."""
    if not ON or start is None:
        return
    from opentelemetry.context import Context

    ids = (tc.run_trace_id(dag_id, run_id), tc.run_span_id(dag_id, run_id))
    attrs = {"airflow.dag_id": dag_id, "airflow.dag_run.run_id": run_id, "airflow.state": state}
    _record(f"dag_run {dag_id}", ids, Context(), start, end, attrs, state == "failed")


def try_ended(ti: Any, state: str | None, end: datetime) -> None:
    """Record one try's span, a child of its run's span (queued time as an attribute)."""
    if not ON or ti.start_date is None:
        return
    trace_id = tc.run_trace_id(ti.dag_id, ti.run_id)
    span_id = tc.try_span_id(ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.try_number)
    parent = _parent(trace_id, tc.run_span_id(ti.dag_id, ti.run_id))
    attrs: dict[str, Any] = {
        "airflow.dag_id": ti.dag_id,
        "airflow.dag_run.run_id": ti.run_id,
        "airflow.task_id": ti.task_id,
        "airflow.map_index": ti.map_index,
        "airflow.try_number": ti.try_number,
        "airflow.state": state or "none",
        "airflow.hostname": ti.hostname or "",
    }
    if ti.queued_dttm is not None:
        attrs["airflow.queued_at"] = ti.queued_dttm.isoformat()
    name = f"ti {ti.task_id}"
    events = (("queued", ti.queued_dttm), ("running", ti.start_date), (state or "none", end))
    _record(name, (trace_id, span_id), parent, ti.start_date, end, attrs, state == "failed", events)


_OFF = contextlib.nullcontext()


def task_context(
    dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int
) -> contextlib.AbstractContextManager[Any]:
    """On the worker: make the try's span current while the task runs (nothing when off)."""
    if not ON:
        return _OFF
    return _attached(
        tc.run_trace_id(dag_id, run_id),
        tc.try_span_id(dag_id, run_id, task_id, map_index, try_number),
    )


@contextlib.contextmanager
def _attached(trace_id: int, span_id: int) -> Iterator[str]:
    from opentelemetry import context

    token = context.attach(_parent(trace_id, span_id))
    header = tc.traceparent(trace_id, span_id)
    before = os.environ.get("TRACEPARENT")
    os.environ["TRACEPARENT"] = header  # programs the task starts (BashOperator) join too
    try:
        yield header
    finally:
        if before is None:
            os.environ.pop("TRACEPARENT", None)
        else:
            os.environ["TRACEPARENT"] = before
        context.detach(token)
        from opentelemetry import trace

        # A try may run in a short-lived fork: send its spans before it exits.
        flush = getattr(trace.get_tracer_provider(), "force_flush", None)
        if flush is not None:
            flush(5000)
