"""Traces from real processes: a `tradewind scheduler` (local executor: the task runs in a
fork of a worker process) exports over OTLP/HTTP to a receiver here, and the task's own span
joins its try's span, a child of the run's span."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest,
)

from tradewind.services import runs as run_service  # noqa: E402

from .conftest import Home  # noqa: E402

pytestmark = pytest.mark.slow

DAG_FILE = """
from datetime import datetime
from opentelemetry import trace
from tradewind import DAG
from tradewind.operators.python import PythonOperator

def work():
    with trace.get_tracer("etl").start_as_current_span("query warehouse"):
        return 1

with DAG("traced_wire", schedule=None, start_date=datetime(2026, 1, 1)):
    PythonOperator(task_id="extract", python_callable=work) >> PythonOperator(
        task_id="load", python_callable=lambda: 2)
"""


class _Otlp(http.server.BaseHTTPRequestHandler):
    server: Any

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/v1/traces":
            request = ExportTraceServiceRequest.FromString(body)
            for rs in request.resource_spans:
                for ss in rs.scope_spans:
                    self.server.spans.extend(ss.spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[Any]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Otlp)
    server.spans = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_task_spans_join_the_run_trace_across_processes(tmp_path: Path, receiver: Any) -> None:
    extra = {
        "TRADEWIND__TRACES__OTEL_ON": "true",
        "TRADEWIND__TRACES__OTEL_HOST": "127.0.0.1",
        "TRADEWIND__TRACES__OTEL_PORT": str(receiver.server_address[1]),
    }
    home = Home(tmp_path / "home", f"sqlite:///{tmp_path / 'home' / 'tradewind.db'}", extra)
    try:
        home.write_dag("traced_wire.py", DAG_FILE)
        home.start_scheduler()
        from tradewind.errors import NotFound
        from tradewind.services.dag_store import get_serialized_dag

        def parsed() -> bool:
            try:
                with home.env.db.session(readonly=True) as s:
                    get_serialized_dag(s, "traced_wire")
                return True
            except NotFound:
                return False

        home.wait_for(parsed, 60, "DAG parsed")
        with home.env.db.session() as s:
            run_service.trigger_run(s, "traced_wire", now=home.env.now())
        home.env.wake()

        def ended() -> bool:
            with home.env.db.session(readonly=True) as s:
                runs = run_service.list_runs(s, "traced_wire", limit=5, newest_first=False)
            return bool(runs) and runs[0].state == "success"

        home.wait_for(ended, 60, "the run to succeed")
        wanted = {"dag_run traced_wire", "ti extract", "ti load", "query warehouse"}
        home.wait_for(
            lambda: wanted <= {s.name for s in list(receiver.spans)}, 60, "4 spans at the receiver"
        )
    finally:
        home.stop_all()
        home.env.db.engine.dispose()
    time.sleep(0.2)
    by_name = {s.name: s for s in receiver.spans}
    run, extract, load, own = (
        by_name["dag_run traced_wire"],
        by_name["ti extract"],
        by_name["ti load"],
        by_name["query warehouse"],
    )
    assert len({s.trace_id for s in (run, extract, load, own)}) == 1
    assert run.parent_span_id == b""
    assert extract.parent_span_id == run.span_id and load.parent_span_id == run.span_id
    assert own.parent_span_id == extract.span_id  # recorded in the task's own process
    assert extract.start_time_unix_nano <= own.start_time_unix_nano <= extract.end_time_unix_nano
