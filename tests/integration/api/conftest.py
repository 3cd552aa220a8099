"""Fixtures for the REST API tests: a fresh Tradewind home per test, users of every role,
two stored DAGs, and a TestClient on the real app."""

from __future__ import annotations

import contextlib
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    # starlette warns once at import that it prefers httpx2 (not installed here).
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tradewind.api.app import create_app
from tradewind.core.clock import FrozenClock
from tradewind.core.permissions import Role
from tradewind.services.auth_tokens import issue_api_token
from tradewind.services.env import Env
from tradewind.services.install import write_config_file
from tradewind.services.users import create_user
from tradewind.settings import load_settings

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
ROLES = [Role.ADMIN, Role.OP, Role.USER, Role.VIEWER, Role.PUBLIC]


@pytest.fixture(scope="session")
def api_template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated metastore with one user per role (argon2 is slow: hash once per session)."""
    home = tmp_path_factory.mktemp("api_template")
    settings = load_settings(home, environ={})
    write_config_file(settings)
    env = Env.from_settings(load_settings(home, environ={}), wake=lambda *_: None)
    env.db.migrate()
    with env.db.session() as s:
        for role in ROLES:
            name = role.value.lower()
            create_user(
                s, name, f"{name}@example.com", name.title(), "Test", PASSWORD, [role.value], NOW
            )
    env.db.engine.dispose()  # closes the connections: SQLite folds its WAL into the file
    return home / "tradewind.db"


@dataclass
class Api:
    """The app under test, its environment, and a way to act as each role."""

    env: Env
    client: TestClient
    clock: FrozenClock

    def token(self, username: str = "admin") -> str:
        with self.env.db.session(readonly=True) as s:
            from tradewind.services.users import get_user

            roles = list(get_user(s, username).roles)
        return issue_api_token(self.env.secret_key, username, roles, self.clock(), 3600)

    def headers(self, username: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def _call(self, method: str, path: str, user: str, kw: dict[str, object]):  # noqa: ANN202
        headers = {**self.headers(user), **dict(kw.pop("headers", None) or {})}  # type: ignore[call-overload]
        return getattr(self.client, method)(path, headers=headers, **kw)

    def get(self, path: str, user: str = "admin", **kw: object):  # noqa: ANN201
        return self._call("get", path, user, kw)

    def post(self, path: str, user: str = "admin", **kw: object):  # noqa: ANN201
        return self._call("post", path, user, kw)

    def patch(self, path: str, user: str = "admin", **kw: object):  # noqa: ANN201
        return self._call("patch", path, user, kw)

    def put(self, path: str, user: str = "admin", **kw: object):  # noqa: ANN201
        return self._call("put", path, user, kw)

    def delete(self, path: str, user: str = "admin", **kw: object):  # noqa: ANN201
        return self._call("delete", path, user, kw)


def make_dags(folder: Path) -> list[object]:
    """Two DAGs in two (virtual) files: a daily chain ``etl``, and ``report`` whose
    description and doc carry HTML and whose params validate the conf."""
    from tradewind import DAG, Param
    from tradewind.operators.empty import EmptyOperator

    start = datetime(2026, 1, 1, tzinfo=UTC)
    with DAG("etl", schedule="@daily", start_date=start, tags=["etl", "daily"]) as etl:
        extract = EmptyOperator(task_id="extract")
        transform = EmptyOperator(task_id="transform", retries=2)
        load = EmptyOperator(task_id="load")
        extract >> transform >> load
    with DAG(
        "report",
        schedule=None,
        start_date=start,
        tags=["reports"],
        description="<script>alert(1)</script>",
        doc_md="# Report\n<img src=x onerror=alert(1)>",
        params={"n": Param(1, type="integer", minimum=0)},
    ) as report:
        EmptyOperator(task_id="only")
    etl.fileloc = str(folder / "etl.py")
    report.fileloc = str(folder / "report.py")
    return [etl, report]


@pytest.fixture
def api(api_template_db: Path, tmp_path: Path) -> Iterator[Api]:
    """A Tradewind home in ``tmp_path`` with the template metastore, two DAGs, and the app."""
    from tradewind.services.testing import store_dag_object

    settings = load_settings(tmp_path, environ={})
    write_config_file(settings)
    shutil.copy(api_template_db, tmp_path / "tradewind.db")
    clock = FrozenClock(NOW)
    env = Env.from_settings(load_settings(tmp_path, environ={}), clock=clock, wake=lambda *_: None)
    for dag in make_dags(tmp_path / "dags"):
        store_dag_object(env, dag)
    with TestClient(create_app(env)) as client:
        yield Api(env, client, clock)
    env.db.engine.dispose()


@contextlib.contextmanager
def serve(api: Api) -> Iterator[str]:
    """The app of ``api`` behind a real HTTP server (uvicorn, in a thread) on a free port."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(api.client.app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test web server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def official_client(api: Api) -> Iterator[Any]:
    """The official ``apache-airflow-client`` talking to a served ``api`` as the admin user."""
    client = pytest.importorskip("airflow_client.client")
    with serve(api) as url:
        config = client.Configuration(host=url, access_token=api.token("admin"))
        with client.ApiClient(config) as api_client:
            yield api_client


@pytest.fixture
def served(api: Api) -> Iterator[str]:
    """``api`` behind a real HTTP server."""
    with serve(api) as url:
        yield url


@pytest.fixture
def airflow_client(api: Api, served: str) -> Iterator[object]:
    """The official ``apache-airflow-client`` talking to ``served`` as the admin user."""
    client = pytest.importorskip("airflow_client.client")
    config = client.Configuration(host=served, access_token=api.token("admin"))
    with client.ApiClient(config) as api_client:
        yield api_client


@pytest.fixture
def pg_api(tmp_path: Path) -> Iterator[Api]:
    """Like ``api``, on a fresh PostgreSQL database (skips when PostgreSQL is absent)."""
    import os
    import socket
    import uuid

    from tradewind.services.testing import store_dag_object

    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432")
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    import psycopg

    name = f"tw_api_{uuid.uuid4().hex[:10]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    environ = {
        "TRADEWIND__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    }
    try:
        settings = load_settings(tmp_path, environ=environ)
        write_config_file(settings)
        clock = FrozenClock(NOW)
        env = Env.from_settings(
            load_settings(tmp_path, environ=environ), clock=clock, wake=lambda *_: None
        )
        env.db.migrate()
        with env.db.session() as s:
            create_user(s, "admin", "a@example.com", "A", "T", PASSWORD, ["Admin"], NOW)
        for dag in make_dags(tmp_path / "dags"):
            store_dag_object(env, dag)
        with TestClient(create_app(env)) as client:
            yield Api(env, client, clock)
        env.db.engine.dispose()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
