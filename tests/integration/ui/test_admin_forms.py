"""Admin forms through the real app: variables, connections, pools, users; CSRF, roles, audit,
and secrets never sent back to the browser."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from tests.integration.ui.conftest import NOW, PASSWORD, csrf_of

from tradewind.services.env import Env


@pytest.fixture
def op_user(env: Env) -> str:
    from tradewind.services.users import create_user

    with env.db.session() as s:
        create_user(s, "op", "op@example.com", "Op", "T", PASSWORD, ["Op"], NOW)
    return "op"


def post(client: TestClient, path: str, data: dict[str, object], page: str) -> object:
    """Submit a form of ``page`` the way the browser does (with the page's CSRF token)."""
    token = csrf_of(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def audit(env: Env, event: str) -> list[str | None]:
    from tradewind.services import ui_queries

    with env.db.session(readonly=True) as s:
        rows, _ = ui_queries.browse_events(s, event=event, limit=50, offset=0)
        return [r.owner for r in rows]


def test_variables_create_edit_delete_keep_secrets(
    env: Env, client_for: Callable[[str], TestClient], op_user: str
) -> None:
    from tradewind.services.variables import get_variable

    op = client_for(op_user)
    page = "/admin/variables"
    made = post(op, "/admin/variables/save", {"key": "db_password", "value": "hunter2"}, page)
    assert made.status_code == 303 and "error" not in made.headers["location"]  # type: ignore[attr-defined]
    post(op, "/admin/variables/save", {"key": "region", "value": "eu"}, page)
    listing = op.get(page).text
    assert "hunter2" not in listing and "***" in listing and "eu" in listing
    edit = op.get(page, params={"edit": "db_password"}).text
    assert "hunter2" not in edit and ">***</textarea>" in edit
    form = {"original": "db_password", "key": "db_password", "value": "***", "description": "d"}
    post(op, "/admin/variables/save", form, page)
    with env.db.session(readonly=True) as s:
        assert get_variable(env, s, "db_password") == "hunter2"  # kept: not re-entered
    post(op, "/admin/variables/save", {**form, "value": "new-secret"}, page)
    with env.db.session(readonly=True) as s:
        assert get_variable(env, s, "db_password") == "new-secret"
    dup = post(op, "/admin/variables/save", {"key": "region", "value": "us"}, page)
    assert "error=" in dup.headers["location"]  # type: ignore[attr-defined]
    assert "already exists" in op.get(dup.headers["location"]).text  # type: ignore[attr-defined]
    post(op, "/admin/variables/delete", {"key": "region"}, page)
    assert "<td>region</td>" not in op.get(page).text
    assert audit(env, "variable_create") == ["op", "op"]
    assert audit(env, "variable_delete") == ["op"]


def test_forms_need_csrf_and_the_role(
    client_for: Callable[[str], TestClient], op_user: str
) -> None:
    op = client_for(op_user)
    no_csrf = op.post("/admin/variables/save", data={"key": "k", "value": "v"})
    assert no_csrf.status_code == 403
    user = client_for("user")
    assert user.get("/admin/variables").status_code == 403
    token = csrf_of(user.get("/dags").text)
    for path, data in [
        ("/admin/variables/save", {"key": "k", "value": "v"}),
        ("/admin/connections/save", {"conn_id": "c", "conn_type": "http"}),
        ("/admin/pools/save", {"pool": "p", "slots": "2"}),
        ("/admin/users/create", {"username": "x", "password": "p", "roles": "Admin"}),
    ]:
        assert user.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    op_token = csrf_of(op.get("/dags").text)
    only_admin = op.post(
        "/admin/users/create", data={"username": "x", "password": "p", "csrf_token": op_token}
    )
    assert only_admin.status_code == 403
    assert op.get("/admin/users").status_code == 403


def test_connection_password_is_never_shown_and_kept_when_empty(
    env: Env, client_for: Callable[[str], TestClient], op_user: str
) -> None:
    from tradewind.services.connections import get_connection

    op = client_for(op_user)
    page = "/admin/connections"
    body = {
        "conn_id": "warehouse", "conn_type": "postgres", "host": "db", "login": "me",
        "password": "s3cret-pw", "port": "5432", "extra": '{"api_key": "k-999", "sslmode": "off"}',
    }  # fmt: skip
    assert post(op, "/admin/connections/save", body, page).status_code == 303  # type: ignore[attr-defined]
    edit = op.get(page, params={"edit": "warehouse"}).text
    assert "s3cret-pw" not in edit and "k-999" not in edit
    assert 'name="password" value=""' in edit
    masked_extra = '{"api_key": "***", "sslmode": "off"}'
    changed = {
        **body,
        "original": "warehouse",
        "password": "",
        "host": "db2",
        "extra": masked_extra,
    }
    post(op, "/admin/connections/save", changed, page)
    with env.db.session(readonly=True) as s:
        stored = get_connection(env, s, "warehouse")
    assert stored["password"] == "s3cret-pw" and stored["host"] == "db2"
    assert '"k-999"' in stored["extra"]
    post(op, "/admin/connections/save", {**changed, "password": "rotated"}, page)
    with env.db.session(readonly=True) as s:
        assert get_connection(env, s, "warehouse")["password"] == "rotated"
    bad = post(op, "/admin/connections/save", {**body, "conn_id": "x", "extra": "{nope"}, page)
    assert "error=" in bad.headers["location"]  # type: ignore[attr-defined]
    post(op, "/admin/connections/delete", {"conn_id": "warehouse"}, page)
    assert "warehouse" not in op.get(page).text
    assert audit(env, "connection_edit") == ["op", "op"]


def test_pools_default_pool_is_editable_not_deletable(
    env: Env, client_for: Callable[[str], TestClient], op_user: str
) -> None:
    op = client_for(op_user)
    page = "/admin/pools"
    post(op, "/admin/pools/save", {"pool": "small", "slots": "2", "description": "tiny"}, page)
    assert "<td>small</td><td>2</td>" in op.get(page).text
    form = {"original": "default_pool", "pool": "default_pool", "slots": "7"}
    post(op, "/admin/pools/save", form, page)
    assert "<td>default_pool</td><td>7</td>" in op.get(page).text
    refused = post(op, "/admin/pools/delete", {"pool": "default_pool"}, page)
    assert "cannot be deleted" in op.get(refused.headers["location"]).text  # type: ignore[attr-defined]
    post(op, "/admin/pools/delete", {"pool": "small"}, page)
    assert "<td>small</td>" not in op.get(page).text
    assert audit(env, "pool_delete") == ["op"]


def test_admin_manages_users(
    env: Env, client_for: Callable[[str], TestClient], app: object
) -> None:
    from tests.integration.ui.conftest import login

    admin = client_for("admin")
    page = "/admin/users"
    new = {"username": "carol", "email": "carol@example.com", "password": "pw-1", "roles": "Viewer"}
    assert post(admin, "/admin/users/create", new, page).status_code == 303  # type: ignore[attr-defined]
    assert "carol@example.com" in admin.get(page).text
    post(admin, "/admin/users/roles", {"username": "carol", "roles": ["User", "Op"]}, page)
    assert (
        "<td>User, Op</td>" in admin.get(page).text or "<td>Op, User</td>" in admin.get(page).text
    )
    post(admin, "/admin/users/password", {"username": "carol", "password": "pw-2"}, page)
    carol = login(TestClient(app, base_url="http://127.0.0.1"), "carol", "pw-2")  # type: ignore[arg-type]
    assert carol.get("/admin/variables").status_code == 200  # Op now
    itself = post(admin, "/admin/users/delete", {"username": "admin"}, page)
    assert "own user" in admin.get(itself.headers["location"]).text  # type: ignore[attr-defined]
    post(admin, "/admin/users/delete", {"username": "carol"}, page)
    assert "carol@example.com" not in admin.get(page).text
    assert audit(env, "user_delete") == ["admin"]
    assert audit(env, "user_create")[0] == "admin"  # the newest; older ones came from setup
