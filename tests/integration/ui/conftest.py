"""Fixtures of the UI tests: a real SQLite metastore with DAGs that ran, and logged-in clients."""

from __future__ import annotations

import re
import shutil
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():
    # starlette warns that its TestClient will move to httpx2; the warning is not ours.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tradewind.dag_processing.processor import DagProcessor
from tradewind.dag_test import run_dag_in_process
from tradewind.sdk.loader import load_file
from tradewind.services.env import Env
from tradewind.services.install import write_config_file
from tradewind.services.users import create_user
from tradewind.settings import load_settings

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
XSS = "<script>alert('x')</script>"
OK_DAG = f"""
import datetime
from tradewind import DAG, Param
from tradewind.operators.bash import BashOperator
from tradewind.operators.empty import EmptyOperator

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
with DAG("ok_dag", schedule="@daily", start_date=START, tags=["ok"], doc_md="# Fine\\n{XSS}",
         params={{"name": Param("{XSS}", type="string"), "count": Param(3, type="integer")}}):
    EmptyOperator(task_id="start") >> BashOperator(task_id="say", bash_command="echo hello-from-say")
"""
BROKEN_DAG = """
import datetime
from tradewind import DAG
from tradewind.operators.bash import BashOperator
from tradewind.operators.empty import EmptyOperator

with DAG("broken_dag", schedule=None, start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc), tags=["bad"]):
    EmptyOperator(task_id="first") >> BashOperator(task_id="boom", bash_command="echo about-to-fail; exit 3")
"""


def build_app(env: Env) -> FastAPI:
    """The real app if the API engineer's factory exists, else the UI router alone."""
    try:
        from tradewind.api.app import create_app

        return create_app(env)
    except ImportError:  # the API is being built in parallel: serve the UI alone meanwhile
        from tradewind.ui.routes import router

        app = FastAPI()
        app.state.env = env
        app.include_router(router)
        return app


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated home with users and DAGs that ran (built once, copied per test)."""
    home = tmp_path_factory.mktemp("ui_template")
    env = _make_env(home)
    with env.db.session() as s:
        for name, role in [("admin", "Admin"), ("viewer", "Viewer"), ("user", "User")]:
            create_user(s, name, f"{name}@example.com", name, "T", PASSWORD, [role], NOW)
    folder = env.settings.dags_folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ok_dag.py").write_text(OK_DAG)
    (folder / "broken_dag.py").write_text(BROKEN_DAG)
    (folder / "syntax_error.py").write_text("from tradewind import DAG\nthis is not python\n")
    DagProcessor(env.settings, env.db).run_once(force=True)
    for name in ("ok_dag", "broken_dag"):
        (dag,) = load_file(str(folder / f"{name}.py"), str(folder)).dags
        run_dag_in_process(dag, NOW, env=env, echo=False)
    env.db.engine.dispose()
    return home


def _make_env(home: Path) -> Env:
    settings = load_settings(home, environ={})
    write_config_file(settings)
    settings = load_settings(home, environ={})
    env = Env.from_settings(settings, wake=lambda *_: None)
    env.db.migrate()
    return env


@pytest.fixture
def env(template_home: Path, tmp_path: Path) -> Iterator[Env]:
    """A fresh copy of the template home; paths in its config point at the copy."""
    home = tmp_path / "home"
    shutil.copytree(template_home, home)
    cfg = home / "tradewind.toml"
    cfg.write_text(cfg.read_text().replace(str(template_home), str(home)))
    env = Env.from_settings(load_settings(home, environ={}), wake=lambda *_: None)
    yield env
    env.db.engine.dispose()


@pytest.fixture
def app(env: Env) -> FastAPI:
    return build_app(env)


def login(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    """Log ``client`` in through the login form (as a browser would)."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    resp = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    return client


@pytest.fixture
def client_for(app: FastAPI) -> Callable[[str], TestClient]:
    def make(username: str) -> TestClient:
        return login(TestClient(app, base_url="http://127.0.0.1"), username)

    return make


def csrf_of(html: str) -> str:
    """The session CSRF token embedded in a page's forms."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
