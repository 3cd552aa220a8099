"""Fixtures for the operator tests: DAG runs in process (with the execution-API extensions
and, when asked, a real triggerer thread), PostgreSQL/MariaDB databases, HTTP and SMTP servers.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest
from tests.conftest import require_server, served_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunResult:
    run_id: str
    state: str
    states: dict[str, str | None]
    tries: dict[str, int] = field(default_factory=dict)


def run_dag(
    env: Any,
    dag: Any,
    *,
    logical_date: datetime | None = None,
    conf: dict[str, Any] | None = None,
    triggerer: bool = False,
    all_runs: bool = False,
    timeout: float = 60.0,
    extra_dags: tuple[Any, ...] = (),
    over_http: bool = False,
    client: Any = None,
    triggerer_interval: float = 0.05,
) -> RunResult:
    """Run ``dag`` once through the real scheduler pass, task runner and metastore.

    Uses ``ExecutionService`` (TriggerDagRun/ExternalTaskSensor calls), and a real
    :class:`Triggerer` in a thread when ``triggerer``. ``all_runs`` also runs other runs
    (e.g. the ones a TriggerDagRunOperator creates) of ``extra_dags``. ``over_http``: the
    tasks talk to a real webserver's execution API over HTTP, as Celery workers do.
    """
    if over_http:
        from tradewind.api.app import create_app
        from tradewind.worker.http_client import HttpExecutionClient

        with served_app(create_app(env)) as url:
            client = HttpExecutionClient(url + "/execution/", retry_for=5.0)
            return run_dag(
                env,
                dag,
                logical_date=logical_date,
                conf=conf,
                triggerer=triggerer,
                all_runs=all_runs,
                timeout=timeout,
                extra_dags=extra_dags,
                client=client,
                triggerer_interval=triggerer_interval,
            )
    return _run_dag(
        env,
        dag,
        logical_date,
        conf,
        triggerer,
        all_runs,
        timeout,
        extra_dags,
        client,
        triggerer_interval,
    )


def _run_dag(
    env: Any,
    dag: Any,
    logical_date: datetime | None,
    conf: dict[str, Any] | None,
    triggerer: bool,
    all_runs: bool,
    timeout: float,
    extra_dags: tuple[Any, ...],
    client: Any,
    triggerer_interval: float = 0.05,
) -> RunResult:
    from tradewind.executors.inline import InlineExecutor
    from tradewind.scheduler.loop import Scheduler, SchedulerOptions
    from tradewind.services.execution import ExecutionService
    from tradewind.services.testing import make_test_run, store_dag_object

    dags = {d.dag_id: d for d in (dag, *extra_dags)}
    for d in dags.values():
        store_dag_object(env, d)
    logical_date = logical_date or datetime.now(timezone.utc).replace(microsecond=0)
    run_id = make_test_run(env, dag.dag_id, logical_date, conf)
    execution = ExecutionService(env, skip_retry_delay=True)
    executor = InlineExecutor(execution, lambda w: dags[w.dag_id], str(env.settings.log_folder))
    if client is not None:
        executor.runner.client = client
    only = None if all_runs else {(dag.dag_id, run_id)}
    scheduler = Scheduler(
        env,
        executor,
        execution,
        options=SchedulerOptions(poll_interval=0.05, exclusive=False),
        only_runs=only,
    )
    trig = thread = None
    if triggerer:
        from tradewind.triggerer.runner import Triggerer

        trig = Triggerer(env, poll_interval=triggerer_interval)
        thread = threading.Thread(target=trig.run, daemon=True)
        thread.start()
        trig.started.wait(10)
    scheduler.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            wait = scheduler.run_once()
            if any(o.run_id == run_id and o.dag_id == dag.dag_id for o in scheduler.finished_runs):
                break
            if executor.results:
                executor.results.clear()
                continue
            time.sleep(min(max(wait, 0.01), 0.05))
        else:
            raise AssertionError(f"run {run_id} did not finish in {timeout} s")
    finally:
        scheduler.shutdown()
        if trig is not None:
            trig.stop()
            thread.join(10)  # type: ignore[union-attr]
    return collect(env, dag.dag_id, run_id)


def collect(env: Any, dag_id: str, run_id: str) -> RunResult:
    from tradewind.services import runs

    with env.db.session(readonly=True) as s:
        run = runs.get_run(s, dag_id, run_id)
        tis = runs.task_states(s, dag_id, run_id)
        return RunResult(
            run_id,
            run.state,
            {t.task_id: t.state for t in tis},
            {t.task_id: t.try_number for t in tis},
        )


def add_connection(env: Any, conn_id: str, uri: str) -> None:
    from tradewind.services.connections import add_connection as add
    from tradewind.services.connections import parse_uri

    with env.db.session() as s:
        add(env, s, parse_uri(conn_id, uri), overwrite=True)


def task_log(env: Any, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
    from tradewind.core.log_files import log_path

    return log_path(env.settings.log_folder, dag_id, run_id, task_id, try_number, -1).read_text()


# -- servers ----------------------------------------------------------------------------------
@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database ``tw_ops_<random>``, dropped afterwards."""
    require_server("127.0.0.1", 5432, "PostgreSQL")
    import psycopg

    name = f"tw_ops_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A fresh MariaDB database, dropped afterwards."""
    require_server("127.0.0.1", 3306, "MariaDB")
    import pymysql

    name = f"tw_ops_{uuid.uuid4().hex[:10]}"
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    try:
        yield f"mysql://root@127.0.0.1:3306/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Any

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        self.server.requests.append((self.command, self.path, self.headers.get("Authorization")))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/ready"):
            self.server.ready_calls += 1
            ok = self.server.ready_calls > 2
            self._send(200 if ok else 404, {"ready": ok})
        elif self.path.startswith("/big"):
            self.send_response(200)
            self.send_header("Content-Length", str(5 * 1024 * 1024))
            self.end_headers()
            for _ in range(5):
                self.wfile.write(b"x" * 1024 * 1024)
        elif self.path.startswith("/fail"):
            self._send(500, {"error": "boom"})
        else:
            self._send(
                200, {"method": self.command, "path": self.path, "body": body.decode() or None}
            )

    def _send(self, code: int, data: Any) -> None:
        raw = json.dumps(data).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = do_PUT = do_DELETE = _answer


@pytest.fixture
def http_server() -> Iterator[Any]:
    """A local HTTP server: ``/ready`` is 404 twice then 200, ``/big`` 5 MB, ``/fail`` 500."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.requests = []  # type: ignore[attr-defined]
    server.ready_calls = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    """A local SMTP server (aiosmtpd) collecting messages in ``.messages``."""
    from aiosmtpd.controller import Controller

    class Sink:
        def __init__(self) -> None:
            self.messages: list[Any] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            self.messages.append(envelope)
            return "250 OK"

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.port = controller.port  # type: ignore[attr-defined]
    yield sink
    controller.stop()


@pytest.fixture(autouse=True)
def _no_global_conn_env() -> Iterator[None]:
    """Connections defined by the environment in one test must not leak into the next."""
    before = {k for k in os.environ if k.startswith(("TRADEWIND_CONN_", "TRADEWIND_VAR_"))}
    yield
    for k in [k for k in os.environ if k.startswith(("TRADEWIND_CONN_", "TRADEWIND_VAR_"))]:
        if k not in before:
            del os.environ[k]
