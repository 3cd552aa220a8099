"""Smoke test of the ``otel`` extra, run with the Python of a venv that has only
``pip install 'tradewind[otel]'``: a local OTLP/HTTP receiver on 127.0.0.1 (standard
library) must get metrics and the spans of a DAG run from Tradewind's real code paths.

Usage: <venv>/bin/python scripts/smoke_otel.py     (prints one JSON line; exit 1 on failure)
"""

from __future__ import annotations

import http.server
import json
import sys
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path


class Receiver(http.server.BaseHTTPRequestHandler):
    posts: list[tuple[str, str, int]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Receiver.posts.append((self.path, self.headers.get("Content-Type", ""), len(body)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()


def main() -> int:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    home = Path(tempfile.mkdtemp(prefix="tw-otel-smoke-"))
    environ = {
        "TRADEWIND__METRICS__OTEL_ON": "true",
        "TRADEWIND__METRICS__OTEL_HOST": "127.0.0.1",
        "TRADEWIND__METRICS__OTEL_PORT": str(port),
        "TRADEWIND__METRICS__OTEL_INTERVAL_MILLISECONDS": "200",
        "TRADEWIND__TRACES__OTEL_ON": "true",
        "TRADEWIND__TRACES__OTEL_HOST": "127.0.0.1",
        "TRADEWIND__TRACES__OTEL_PORT": str(port),
    }
    from tradewind import DAG
    from tradewind.core import metrics
    from tradewind.dag_test import run_dag_in_process
    from tradewind.observability import tracing
    from tradewind.observability.setup import setup_observability
    from tradewind.operators.empty import EmptyOperator
    from tradewind.services.env import Env
    from tradewind.services.install import write_config_file
    from tradewind.settings import load_settings

    settings = load_settings(home, environ=environ)
    write_config_file(settings)
    settings = load_settings(home, environ=environ)
    setup_observability(settings)
    env = Env.from_settings(settings, wake=lambda *_: None)
    env.db.migrate()
    day = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with DAG("otel_smoke", schedule=None, start_date=day) as dag:
        EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
    result = run_dag_in_process(dag, day, env=env, echo=False)
    metrics.configure(None).close()  # flushes the last metrics
    tracing.stop_tracing()  # flushes the spans
    server.shutdown()
    paths = {p for p, _, _ in Receiver.posts}
    ok = result.state == "success" and {"/v1/metrics", "/v1/traces"} <= paths
    print(json.dumps({"smoke": "otel", "ok": ok, "run": result.state, "posts": sorted(paths)}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
