"""Fixtures for scheduler tests: a real home, a real `tradewind scheduler` subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tradewind.services.env import Env
from tradewind.services.install import write_config_file
from tradewind.settings import load_settings

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{db}"


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _pg_database() -> Iterator[str]:
    if not _reachable(5432):
        msg = "PostgreSQL is not reachable at 127.0.0.1:5432"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    import psycopg

    name = f"tw_sched_{uuid.uuid4().hex[:10]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield PG_URL.format(db=name)
    finally:
        with psycopg.connect(
            "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True
        ) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


BOTH_DATABASES = pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite by default; tests marked BOTH_DATABASES run again on PostgreSQL."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{tmp_path / 'home' / 'tradewind.db'}"
    else:
        yield from _pg_database()


class Home:
    """A Tradewind home with a DAGs folder, and the scheduler subprocesses started on it."""

    def __init__(self, path: Path, db_url: str, extra_env: dict[str, str]):
        self.path = path
        self.dags = path / "dags"
        self.dags.mkdir(parents=True, exist_ok=True)
        self.scratch = path / "scratch"
        self.scratch.mkdir(exist_ok=True)
        self.environ = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND")},
            "TRADEWIND_HOME": str(path),
            "TRADEWIND__DATABASE__SQL_ALCHEMY_CONN": db_url,
            "TRADEWIND__CORE__DAGS_ARE_PAUSED_AT_CREATION": "false",
            "TRADEWIND__CORE__PARALLELISM": "4",
            "TRADEWIND__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "3",
            "TRADEWIND__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "TRADEWIND__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "3",
            "TRADEWIND__SCHEDULER__POLL_INTERVAL": "0.5",
            "TRADEWIND__SCHEDULER__SHUTDOWN_GRACE_SECONDS": "1",
            "TW_SCRATCH": str(self.scratch),
            **extra_env,
        }
        settings = load_settings(path, environ=self.environ)
        write_config_file(settings)
        self.settings = load_settings(path, environ=self.environ)
        self.env = Env.from_settings(self.settings)
        self.env.db.migrate()
        self.procs: list[subprocess.Popen[bytes]] = []

    def write_dag(self, name: str, source: str) -> Path:
        path = self.dags / name
        path.write_text(textwrap.dedent(source))
        return path

    def start_scheduler(self, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.path / f"scheduler-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from tradewind.cli.main import main; main()",
                "scheduler",
                *args,
            ],
            env=self.environ,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(
            [sys.executable, "-c", "from tradewind.cli.main import main; main()", *args],
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and res.returncode != 0:
            raise AssertionError(f"tradewind {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}")
        return res

    def scheduler_log(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.path.glob("scheduler-*.log"))
        )

    def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 60.0, what: str = "condition"
    ) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            for p in self.procs:
                if p.poll() is not None and p.returncode not in (0, -9, -15):
                    raise AssertionError(
                        f"scheduler exited with {p.returncode}:\n{self.scheduler_log()[-4000:]}"
                    )
            time.sleep(0.1)
        raise AssertionError(
            f"timed out waiting for {what}\n--- scheduler log ---\n{self.scheduler_log()[-4000:]}"
        )

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=5)


@pytest.fixture
def home(tmp_path: Path, db_url: str) -> Iterator[Home]:
    h = Home(tmp_path / "home", db_url, {})
    try:
        yield h
    finally:
        h.stop_all()
        h.env.db.engine.dispose()
