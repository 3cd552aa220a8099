"""The scheduler suite again, on PostgreSQL with the Celery executor and real processes.

Each test gets a fresh PostgreSQL database, a ``tradewind webserver`` (the execution API), a
``tradewind celery worker`` without any database URL in its environment, and the
``tradewind scheduler`` the suite starts; once with Redis and once with RabbitMQ as the broker.
The scenarios and their assertions are the local-executor suite's own (test_scheduler_runs).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import test_scheduler_runs as suite
from .conftest import Home, _pg_database, _reachable

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

TRADEWIND = [sys.executable, "-c", "from tradewind.cli.main import main; main()"]
BROKERS = {
    "redis": ("Redis", 6379, "redis://127.0.0.1:6379/0"),
    "rabbitmq": ("RabbitMQ", 5672, "amqp://guest:guest@127.0.0.1:5672//"),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _need(label: str, port: int) -> None:
    if not _reachable(port):
        message = f"{label} not reachable at 127.0.0.1:{port}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


class CeleryHome(Home):
    """A Home whose scheduler uses the CeleryExecutor, with a webserver and a Celery worker.

    The webserver and the worker start with the first scheduler, without waiting for them:
    queued tasks wait in the broker and the worker's calls retry until the API answers.
    """

    def __init__(self, path: Path, db_url: str, broker_url: str):
        self.api_port = _free_port()
        self.broker_url = broker_url
        self.prefix = f"tw_suite_{secrets.token_hex(4)}:"  # its own queues on a shared broker
        super().__init__(
            path,
            db_url,
            {
                "TRADEWIND__CORE__EXECUTOR": "CeleryExecutor",
                "TRADEWIND__CORE__EXECUTION_API_SERVER_URL": (
                    f"http://127.0.0.1:{self.api_port}/execution/"
                ),
                "TRADEWIND__CELERY__BROKER_URL": broker_url,
                "TRADEWIND__CELERY__KEY_PREFIX": self.prefix,
                "TRADEWIND__SCHEDULER__TASK_INSTANCE_HEARTBEAT_SEC": "0.5",
            },
        )
        self.services: dict[str, subprocess.Popen[bytes]] = {}

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with open(self.path / f"{name}.log", "ab") as out:
            proc = subprocess.Popen(
                argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.services[name] = proc
        return proc

    def worker_environ(self) -> dict[str, str]:
        """The worker node's environment: broker and API URLs, DAG files; no database."""
        env = {k: v for k, v in self.environ.items() if "DATABASE" not in k}
        worker_home = self.path / "worker-home"
        worker_home.mkdir(exist_ok=True)
        env.update(TRADEWIND_HOME=str(worker_home), TRADEWIND__CORE__DAGS_FOLDER=str(self.dags))
        assert not any("SQL_ALCHEMY" in k or "DATABASE" in k for k in env)
        return env

    def start_worker(self, name: str = "worker") -> subprocess.Popen[bytes]:
        argv = [*TRADEWIND, "celery", "worker", "--concurrency", "4"]
        argv += ["--hostname", f"{name}-{secrets.token_hex(3)}@%h"]
        return self._spawn(name, argv, self.worker_environ())

    def start_scheduler(self, *args: str) -> subprocess.Popen[bytes]:
        if not self.services:
            argv = [*TRADEWIND, "webserver", "-p", str(self.api_port), "--host", "127.0.0.1"]
            self._spawn("webserver", [*argv, "--log-level", "warning"], self.environ)
            self.start_worker()
        return super().start_scheduler(*args)

    def scheduler_log(self) -> str:
        logs = [super().scheduler_log()]
        for name in self.services:
            path = self.path / f"{name}.log"
            if path.exists():
                logs.append(f"--- {name} ---\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(logs)

    def stop_all(self) -> None:
        super().stop_all()
        for proc in self.services.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.services.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the pool and tries of a stuck worker
        if self.broker_url.startswith("amqp"):
            _delete_rabbitmq_queue(self.broker_url, f"{self.prefix}default")


def _delete_rabbitmq_queue(url: str, name: str) -> None:
    """Leave no queue of this test behind on the shared RabbitMQ."""
    from kombu import Connection

    with contextlib.suppress(Exception), Connection(url, connect_timeout=5) as conn:
        channel = conn.default_channel
        channel.queue_delete(name)
        channel.exchange_delete(name)


@pytest.fixture(
    params=[
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("rabbitmq", marks=pytest.mark.rabbitmq),
    ]
)
def home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CeleryHome]:
    """A CeleryHome on a fresh PostgreSQL database, with Redis or RabbitMQ as the broker."""
    label, port, url = BROKERS[request.param]
    _need("PostgreSQL", 5432)
    _need(label, port)
    for db_url in _pg_database():
        h = CeleryHome(tmp_path / "home", db_url, url)
        try:
            yield h
        finally:
            h.stop_all()
            h.env.db.engine.dispose()


def test_retries_wait_with_exponential_backoff_then_succeed(home: CeleryHome) -> None:
    suite.test_retries_wait_with_exponential_backoff_then_succeed(home)


def test_trigger_rules_and_branching_end_to_end(home: CeleryHome) -> None:
    suite.test_trigger_rules_and_branching_end_to_end(home)


def test_pool_limits_concurrency(home: CeleryHome) -> None:
    suite.test_pool_limits_concurrency(home)


def test_catchup_creates_every_missed_interval_and_runs_them(home: CeleryHome) -> None:
    suite.test_catchup_creates_every_missed_interval_and_runs_them(home)


def test_kill_9_of_a_task_process_is_retried(home: CeleryHome) -> None:
    suite.test_kill_9_of_a_task_process_is_retried(home)


def test_kill_9_of_a_worker_node_mid_task_is_retried_on_another(home: CeleryHome) -> None:
    home.write_dag(
        "victim.py",
        """
        import os, time
        from datetime import datetime, timedelta
        from tradewind import DAG
        from tradewind.operators.python import PythonOperator
        def victim():
            marker = os.path.join(os.environ["TW_SCRATCH"], "pid")
            if not os.path.exists(marker):
                open(marker, "w").write(str(os.getpid()))
                time.sleep(300)
            return "second try"
        with DAG("victim", schedule=None, start_date=datetime(2026, 1, 1)):
            PythonOperator(task_id="victim", python_callable=victim, retries=1,
                           retry_delay=timedelta(seconds=0))
        """,
    )
    home.start_scheduler()
    rid = suite._trigger(home, "victim")
    pid_file = home.scratch / "pid"
    home.wait_for(lambda: pid_file.exists() and pid_file.read_text(), 60, "the task to start")
    first = home.services["worker"]
    os.killpg(first.pid, signal.SIGKILL)  # the node dies: worker, pool and task at once
    first.wait(10)
    home.start_worker("worker2")
    # No heartbeat for 3 s: the scheduler fails the try, the retry runs on the new worker.
    runs = home.wait_for(lambda: suite._finished(home, "victim"), 60, "the retry to succeed")
    assert runs[0].state == "success"
    ti = suite._tis(home, "victim", rid)["victim"]
    assert ti.try_number == 2
    assert "victim" in (home.path / "worker2.log").read_text()


def test_kill_9_of_a_pool_process_is_lost_not_failed(home: CeleryHome) -> None:
    """The pool process running a try dies: the try is lost (no retry used: retries=0) and
    runs again; its history keeps the lost try with the reason."""
    from .test_lost_tries import _history

    home.write_dag(
        "victim.py",
        """
        import os, time
        from datetime import datetime
        from tradewind import DAG
        from tradewind.operators.python import PythonOperator
        def victim():
            marker = os.path.join(os.environ["TW_SCRATCH"], "pid")
            if not os.path.exists(marker):
                open(marker, "w").write(str(os.getpid()))
                time.sleep(300)
            return "second try"
        with DAG("victim", schedule=None, start_date=datetime(2026, 1, 1)):
            PythonOperator(task_id="victim", python_callable=victim, retries=0)
        """,
    )
    home.start_scheduler()
    rid = suite._trigger(home, "victim")
    pid_file = home.scratch / "pid"
    home.wait_for(lambda: pid_file.exists() and pid_file.read_text(), 60, "the task to start")
    os.kill(int(pid_file.read_text()), signal.SIGKILL)  # the pool process running the try
    runs = home.wait_for(lambda: suite._finished(home, "victim"), 60, "the requeued try")
    assert runs[0].state == "success"
    ti = suite._tis(home, "victim", rid)["victim"]
    assert (ti.try_number, ti.max_tries) == (2, 1)
    hist = _history(home.env, ti.id)
    assert hist[0][:2] == (1, "lost"), hist
    assert hist[-1][:2] == (2, "success")
