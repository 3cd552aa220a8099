"""A throwaway multi-node Tradewind on loopback: PostgreSQL database, webserver, schedulers,
Celery workers as real processes. Used by the multi-node tests and ``bench/bench_celery.py``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_ENV = "TRADEWIND__DATABASE__SQL_ALCHEMY_CONN"
TRADEWIND = [sys.executable, "-c", "from tradewind.cli.main import main; main()"]
UVICORN = [
    sys.executable,
    "-m",
    "uvicorn",
    "--factory",
    "--host",
    "127.0.0.1",
    "--log-level",
    "warning",
]


def reachable(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1.0):
        return True
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """Create ``tw_mn_<random>`` (autocommit) and drop it afterwards; yield its SQLAlchemy URL."""
    import psycopg

    name = f"tw_mn_{secrets.token_hex(5)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _cli_has(module: str) -> bool:
    return importlib.util.find_spec(f"tradewind.cli.{module}") is not None


def scheduler_argv() -> list[str]:
    """``tradewind scheduler``, or a script running the loop while the CLI has no such command."""
    if _cli_has("scheduler"):
        return [*TRADEWIND, "scheduler"]
    return [sys.executable, str(HERE / "mn_run_scheduler.py")]


class OwnRedis:
    """A private ``redis-server`` on a free loopback port, without persistence, that a test may
    stop and start again (never the machine's shared Redis on 6379)."""

    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server is not installed")
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.root)]
        with open(self.root / f"redis-{self.port}.out", "ab") as fh:
            self.popen = subprocess.Popen(
                argv, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 10
        while not reachable(self.port):
            assert self.popen.poll() is None, f"redis-server exited with {self.popen.returncode}"
            assert time.monotonic() < deadline, "redis-server did not start in 10 s"
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGKILL (a crash: whatever the server held is gone, nothing is saved)."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)


@dataclass
class Proc:
    """A started process with its output file."""

    name: str
    popen: subprocess.Popen[bytes]
    out: Path

    def text(self) -> str:
        return self.out.read_text(errors="replace") if self.out.exists() else ""

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill9(self) -> None:
        """SIGKILL the whole process group (a node dying: the worker, its pool, its tasks)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)  # stragglers of the group


@dataclass
class Cluster:
    """One Tradewind installation spread over processes on this machine."""

    root: Path
    db_url: str
    broker_url: str
    key_prefix: str = ""
    heartbeat_timeout: float = 30.0
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)
    queues: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        from tradewind.services.env import Env
        from tradewind.services.install import write_config_file
        from tradewind.settings import load_settings

        self.home = self.root / "home"
        self.dags = self.root / "dags"
        self.dags.mkdir(parents=True, exist_ok=True)
        self.api_port = free_port()
        self.settings_env = {
            DB_ENV: self.db_url,
            "TRADEWIND__CORE__EXECUTOR": "CeleryExecutor",
            "TRADEWIND__CORE__DAGS_FOLDER": str(self.dags),
            "TRADEWIND__CORE__DAGS_ARE_PAUSED_AT_CREATION": "false",
            "TRADEWIND__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.api_port}/execution/",
            "TRADEWIND__CELERY__BROKER_URL": self.broker_url,
            "TRADEWIND__CELERY__KEY_PREFIX": self.key_prefix,
            "TRADEWIND__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(self.heartbeat_timeout),
            "TRADEWIND__SCHEDULER__TASK_INSTANCE_HEARTBEAT_SEC": str(
                min(1.0, self.heartbeat_timeout / 4)
            ),
            "TRADEWIND__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "0.5",
            "TRADEWIND__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "3",
            "TRADEWIND__SCHEDULER__POLL_INTERVAL": "0.5",
            **self.extra_env,
        }
        settings = load_settings(self.home, environ=self.settings_env)
        write_config_file(settings)
        self.settings = load_settings(self.home, environ=self.settings_env)
        self.env = Env.from_settings(self.settings)
        self.env.db.migrate()

    # -- DAG files and runs -------------------------------------------------------------------
    def add_dag(self, filename: str, source: str) -> Path:
        path = self.dags / filename
        path.write_text(source)
        return path

    def parse(self) -> None:
        """Parse the DAG folder into the metastore once (what the DAG processor does)."""
        from tradewind.dag_processing.processor import DagProcessor

        DagProcessor(self.settings, self.env.db).run_once(force=True)

    def trigger(self, dag_id: str, run_id: str, conf: dict[str, Any] | None = None) -> None:
        from tradewind.services.runs import trigger_run

        with self.env.db.session() as s:
            trigger_run(
                s,
                dag_id,
                now=self.env.now(),
                run_id=run_id,
                logical_date=None,
                logical_date_given=True,
                conf=conf,
            )
        self.env.wake()

    def run_states(self) -> dict[str, str]:
        from tradewind.services.runs import list_runs

        with self.env.db.session(readonly=True) as s:
            return {r.run_id: r.state for r in list_runs(s, limit=100_000)}

    def ti_rows(self, dag_id: str, run_id: str) -> list[Any]:
        from tradewind.services.runs import task_states

        with self.env.db.session(readonly=True) as s:
            return list(task_states(s, dag_id, run_id))

    def wait_runs(
        self, run_ids: list[str], timeout: float, done: tuple[str, ...] = ("success", "failed")
    ) -> dict[str, str]:
        """Wait until every run is finished; return the states (fails with the stragglers)."""
        deadline = time.monotonic() + timeout
        while True:
            states = self.run_states()
            wanted = {r: states.get(r) for r in run_ids}
            if all(s in done for s in wanted.values()):
                return {r: str(s) for r, s in wanted.items()}
            if time.monotonic() > deadline:
                late = {r: s for r, s in wanted.items() if s not in done}
                raise AssertionError(
                    f"runs not finished after {timeout:g} s: {dict(list(late.items())[:5])}\n{self.tails()}"
                )
            time.sleep(0.05)

    # -- processes ----------------------------------------------------------------------------
    def _start(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        ready: Callable[[Proc], bool] | None = None,
        timeout: float = 30.0,
    ) -> Proc:
        out = self.root / f"{name}.out"
        with open(out, "wb") as fh:
            popen = subprocess.Popen(
                argv,
                env=env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.root,
            )
        proc = Proc(name, popen, out)
        self.procs.append(proc)
        deadline = time.monotonic() + timeout
        while ready is not None and not ready(proc):
            if not proc.alive():
                raise AssertionError(
                    f"{name} exited with {popen.returncode}:\n{proc.text()[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{name} not ready after {timeout:g} s:\n{proc.text()[-3000:]}"
                )
            time.sleep(0.05)
        return proc

    def _server_env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND")}
        return {**base, "TRADEWIND_HOME": str(self.home), **self.settings_env}

    def worker_env(self, name: str) -> dict[str, str]:
        """A worker's environment: broker and API URLs, DAG folder; no database URL at all."""
        home = self.root / f"{name}-home"
        home.mkdir(exist_ok=True)
        base = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND")}
        env = {**base, "TRADEWIND_HOME": str(home)}
        env.update({k: v for k, v in self.settings_env.items() if "DATABASE" not in k})
        assert not any("SQL_ALCHEMY" in k or "DATABASE" in k for k in env), (
            "a worker must not get a database URL"
        )
        return env

    def start_webserver(self) -> Proc:
        """``tradewind webserver`` (or the app factory under uvicorn; or only the execution API)."""
        if _cli_has("webserver"):
            argv = [*TRADEWIND, "webserver", "-p", str(self.api_port), "--host", "127.0.0.1"]
        else:
            argv = [*UVICORN, "tradewind.api.app:app_from_settings", "--port", str(self.api_port)]
        try:
            return self._start(
                "webserver", argv, self._server_env(), ready=lambda p: reachable(self.api_port)
            )
        except AssertionError:
            fallback = [
                *UVICORN,
                "mn_webserver:app",
                "--app-dir",
                str(HERE),
                "--port",
                str(self.api_port),
            ]
            return self._start(
                "webserver-min",
                fallback,
                self._server_env(),
                ready=lambda p: reachable(self.api_port),
            )

    def start_scheduler(self, name: str = "scheduler") -> Proc:
        if _cli_has("scheduler"):
            argv = [sys.executable, *TRADEWIND[1:], "scheduler"]
        else:
            argv = [sys.executable, str(HERE / "mn_run_scheduler.py")]
        return self._start(
            name, argv, self._server_env(), ready=lambda p: self._has_scheduler_job(p.pid)
        )

    def _has_scheduler_job(self, pid: int) -> bool:
        from sqlalchemy import select

        from tradewind.metastore.tables import Job

        with self.env.db.session(readonly=True) as s:
            rows = (
                s.execute(
                    select(Job.pid).where(Job.job_type == "SchedulerJob", Job.state == "running")
                )
                .scalars()
                .all()
            )
        return pid in rows

    def start_worker(
        self, name: str = "worker", queues: str = "default", concurrency: int = 4
    ) -> Proc:
        self.queues.update(queues.split(","))
        argv = [
            sys.executable,
            *TRADEWIND[1:],
            "celery",
            "worker",
            "--queues",
            queues,
            "--concurrency",
            str(concurrency),
            "--hostname",
            f"{name}-{secrets.token_hex(3)}@%h",
        ]
        return self._start(
            name, argv, self.worker_env(name), ready=lambda p: " ready." in p.text(), timeout=60
        )

    def tails(self, n: int = 1500) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.text()[-n:]}" for p in self.procs)

    def close(self) -> None:
        for p in reversed(self.procs):
            p.stop()
        self.env.db.engine.dispose()
        if os.environ.get("TW_KEEP_CLUSTER") is None:
            shutil.rmtree(self.root / "dags", ignore_errors=True)
