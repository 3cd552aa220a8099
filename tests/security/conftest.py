"""Fixtures of the security tests: a real home (SQLite file, DAG files parsed by the real
processor), users of every role, the real app behind a TestClient, and logged-in UI clients."""

from __future__ import annotations

import re
import shutil
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    # starlette warns once at import that it prefers httpx2 (not installed here).
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tradewind.core.clock import FrozenClock
from tradewind.dag_processing.processor import DagProcessor
from tradewind.errors import NotFound
from tradewind.services.env import Env
from tradewind.services.install import write_config_file
from tradewind.services.users import create_user
from tradewind.settings import load_settings

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
USERS = [("admin", "Admin"), ("op", "Op"), ("user", "User"), ("viewer", "Viewer")]
SEC_DAG = """
import datetime
from tradewind import DAG
from tradewind.operators.bash import BashOperator

with DAG("sec_dag", schedule=None, start_date=datetime.datetime(2026, 1, 1,
         tzinfo=datetime.timezone.utc)):
    BashOperator(task_id="echo", bash_command="echo hello")
"""


def make_env(home: Path, **kwargs: Any) -> Env:
    """The Env of ``home`` (its config file written on first use)."""
    settings = load_settings(home, environ={})
    write_config_file(settings)
    kwargs.setdefault("wake", lambda *_: None)
    return Env.from_settings(load_settings(home, environ={}), **kwargs)


@pytest.fixture(scope="session")
def sec_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated home with one user per role and ``sec_dag`` parsed (copied per test)."""
    home = tmp_path_factory.mktemp("sec_template")
    env = make_env(home)
    env.db.migrate()
    with env.db.session() as s:
        for name, role in USERS:
            create_user(s, name, f"{name}@example.com", name, "T", PASSWORD, [role], NOW)
    folder = env.settings.dags_folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sec_dag.py").write_text(SEC_DAG)
    DagProcessor(env.settings, env.db).run_once(force=True)
    env.db.engine.dispose()
    return home


@pytest.fixture
def home(sec_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the template home; the paths in its config point at the copy."""
    target = tmp_path / "home"
    shutil.copytree(sec_template, target)
    cfg = target / "tradewind.toml"
    cfg.write_text(cfg.read_text().replace(str(sec_template), str(target)))
    return target


@pytest.fixture
def env(home: Path) -> Iterator[Env]:
    """The Env of ``home`` on a frozen clock (``env.clock.advance(seconds=...)`` moves it)."""
    environment = make_env(home, clock=FrozenClock(NOW))
    yield environment
    environment.db.engine.dispose()


@dataclass
class Site:
    """The app under test and ways to call it as each user."""

    env: Env
    client: TestClient

    def token(self, username: str = "admin", password: str = PASSWORD) -> str:
        resp = self.client.post("/auth/token", json={"username": username, "password": password})
        assert resp.status_code in (200, 201), resp.text
        return str(resp.json()["access_token"])

    def headers(self, username: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def browser(
        self, username: str | None = None, password: str = PASSWORD, address: str = "testclient"
    ) -> TestClient:
        """A fresh client (own cookies, from ``address``), logged in as ``username`` if given."""
        client = TestClient(self.client.app, base_url="http://127.0.0.1", client=(address, 50000))
        if username is not None:
            resp = login(client, username, password)
            assert resp.status_code == 303, resp.text
        return client


def csrf_of(html: str) -> str:
    """The CSRF token embedded in a page's forms."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def login(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    """Post the login form as a browser would; return the response."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_of(page.text),
            "next": "/",
        },
        follow_redirects=False,
    )


@pytest.fixture
def site(env: Env) -> Iterator[Site]:
    from tradewind.api.app import create_app

    with TestClient(create_app(env), base_url="http://127.0.0.1") as client:
        yield Site(env, client)


@pytest.fixture
def cli(home: Path) -> Callable[..., Any]:
    """Run ``tradewind ARGS...`` in process against ``home``; returns click's result."""
    from click.testing import CliRunner

    from tradewind.cli.main import cli as main

    def run(*args: str, input: str | None = None) -> Any:
        return CliRunner().invoke(main, list(args), input=input, env={"TRADEWIND_HOME": str(home)})

    return run


@contextmanager
def site_client(env: Env) -> Iterator[tuple[TestClient, Callable[[str], dict[str, str]]]]:
    """A TestClient on the real app of ``env`` (a home made elsewhere), and bearer headers of
    users created on demand with the role of the same name (``viewer`` -> Viewer)."""
    from tradewind.api.app import create_app
    from tradewind.services.users import get_user

    def headers(name: str) -> dict[str, str]:
        with env.db.session() as s:
            try:
                get_user(s, name)
            except NotFound:
                create_user(
                    s, name, f"{name}@example.com", name, "T", PASSWORD, [name.title()], NOW
                )
        resp = client.post("/auth/token", json={"username": name, "password": PASSWORD})
        assert resp.status_code in (200, 201), resp.text
        return {"Authorization": f"Bearer {resp.json()['access_token']}"}

    with TestClient(create_app(env), base_url="http://127.0.0.1") as client:
        yield client, headers
