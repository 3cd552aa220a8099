"""The web pages through the real app: login, roles, CSRF, escaping, and pages with data."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.integration.ui.conftest import PASSWORD, XSS, csrf_of, login


def test_pages_need_login_and_redirect_back(app: FastAPI) -> None:
    client = TestClient(app, base_url="http://127.0.0.1")
    resp = client.get("/dags/ok_dag/grid", follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/login?next=/dags/ok_dag/grid"


def test_login_wrong_password_is_refused_and_counted(app: FastAPI) -> None:
    client = TestClient(app, base_url="http://127.0.0.1")
    page = client.get("/login")
    resp = client.post(
        "/login", data={"username": "admin", "password": "nope", "csrf_token": csrf_of(page.text)}
    )
    assert resp.status_code == 401
    assert "Invalid credentials" in resp.text
    for _ in range(5):
        page = client.get("/login")
        client.post(
            "/login",
            data={"username": "admin", "password": "nope", "csrf_token": csrf_of(page.text)},
        )
    page = client.get("/login")
    resp = client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert resp.status_code == 401 and "Too many failed logins" in resp.text


def test_login_without_csrf_is_refused(app: FastAPI) -> None:
    client = TestClient(app, base_url="http://127.0.0.1")
    resp = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert resp.status_code == 403


def test_next_only_goes_to_our_own_paths(app: FastAPI) -> None:
    client = TestClient(app, base_url="http://127.0.0.1")
    for target, expected in [
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/dags?tag=ok", "/dags?tag=ok"),
    ]:
        page = client.get("/login", params={"next": target})
        resp = client.post(
            "/login",
            data={
                "username": "admin",
                "password": PASSWORD,
                "csrf_token": csrf_of(page.text),
                "next": target,
            },
            follow_redirects=False,
        )
        assert resp.headers["location"] == expected
        client.cookies.clear()


def test_session_cookie_is_httponly_and_samesite(app: FastAPI) -> None:
    client = TestClient(app, base_url="http://127.0.0.1")
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    cookie = [
        v
        for k, v in resp.headers.multi_items()
        if k == "set-cookie" and v.startswith("tradewind_session")
    ][0]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_dags_page_shows_the_failed_dag_first(client_for: Callable[[str], TestClient]) -> None:
    html = client_for("viewer").get("/dags").text
    assert html.index("broken_dag") < html.index("ok_dag")
    assert 'class="failing" data-dag-id="broken_dag"' in html


def test_grid_shows_states_and_the_log(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("viewer")
    grid = client.get("/dags/broken_dag/grid")
    assert grid.status_code == 200
    assert 'data-task-id="boom"' in grid.text and "state-failed" in grid.text
    run_id = grid.text.split('data-run-id="', 1)[1].split('"', 1)[0]
    panel = client.get("/dags/broken_dag/ti", params={"run_id": run_id, "task_id": "boom"})
    assert panel.status_code == 200
    assert "about-to-fail" in panel.text


def test_viewer_sees_no_buttons_and_gets_403_on_actions(
    client_for: Callable[[str], TestClient],
) -> None:
    client = client_for("viewer")
    page = client.get("/dags/ok_dag/grid")
    assert "/trigger" not in page.text and "Clear</button>" not in page.text
    token = csrf_of(page.text)
    assert client.post("/dags/ok_dag/trigger", data={"csrf_token": token}).status_code == 403
    assert (
        client.post("/dags/ok_dag/pause", data={"csrf_token": token, "paused": "true"}).status_code
        == 403
    )
    assert client.get("/dags/ok_dag/trigger").status_code == 403


def test_post_without_csrf_token_is_rejected(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("admin")
    assert client.post("/dags/ok_dag/pause", data={"paused": "false"}).status_code == 403
    assert (
        client.post(
            "/dags/ok_dag/pause", data={"paused": "false", "csrf_token": "forged"}
        ).status_code
        == 403
    )


def test_trigger_from_the_form_creates_a_run(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("user")
    form = client.get("/dags/ok_dag/trigger")
    assert form.status_code == 200 and 'name="param.count"' in form.text
    resp = client.post(
        "/dags/ok_dag/trigger",
        data={
            "csrf_token": csrf_of(form.text),
            "param.name": "bob",
            "param.count": "7",
            "conf": '{"extra": 1}',
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303
    run_page = client.get("/browse/runs", params={"dag_id": "ok_dag"})
    assert "manual__" in run_page.text and "queued" in run_page.text


def test_trigger_with_a_wrong_param_type_says_why(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("admin")
    form = client.get("/dags/ok_dag/trigger")
    resp = client.post(
        "/dags/ok_dag/trigger", data={"csrf_token": csrf_of(form.text), "param.count": "many"}
    )
    assert resp.status_code == 422 and "count" in resp.text


def test_html_in_doc_md_and_params_is_escaped(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("admin")
    for path in ("/dags/ok_dag/grid", "/dags/ok_dag/trigger"):
        html = client.get(path).text
        assert XSS not in html
        assert "&lt;script&gt;" in html


def test_clear_and_mark_change_the_task_instance(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("admin")
    grid = client.get("/dags/broken_dag/grid")
    run_id = grid.text.split('data-run-id="', 1)[1].split('"', 1)[0]
    data = {"csrf_token": csrf_of(grid.text), "run_id": run_id, "task_id": "boom"}
    resp = client.post(
        "/dags/broken_dag/mark", data={**data, "state": "success"}, follow_redirects=False
    )
    assert resp.status_code == 303
    assert 'state-success" id="ti-state"' in client.get(resp.headers["location"]).text
    resp = client.post("/dags/broken_dag/clear", data=data, follow_redirects=False)
    assert 'id="ti-state">no state' in client.get(resp.headers["location"]).text
    events = client.get("/browse/events").text
    assert "clear" in events and "admin" in events


def test_every_page_renders(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("admin")
    grid = client.get("/dags/ok_dag/grid").text
    run_id = grid.split('data-run-id="', 1)[1].split('"', 1)[0]
    for path in [
        "/",
        "/dags?q=ok",
        "/dags?tag=bad",
        "/dags?status=paused",
        "/dags/ok_dag/graph",
        "/dags/ok_dag/gantt",
        "/dags/ok_dag/duration",
        "/dags/ok_dag/code",
        f"/dags/ok_dag/run?run_id={quote(run_id)}",
        "/browse/runs",
        "/browse/task_instances?state=failed",
        "/browse/task_instances?start_after=2020-01-01",
        "/browse/events",
        "/browse/import_errors",
        "/admin/variables",
        "/admin/connections",
        "/admin/pools",
        "/admin/users",
    ]:
        resp = client.get(path)
        assert resp.status_code == 200, (path, resp.text[:500])
    assert client.get("/dags/nope/grid").status_code == 404


def test_users_page_is_admin_only(client_for: Callable[[str], TestClient]) -> None:
    assert client_for("user").get("/admin/users").status_code == 403


def test_live_states_json(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("viewer")
    grid = client.get("/dags/ok_dag/grid").text
    run_id = grid.split('data-run-id="', 1)[1].split('"', 1)[0]
    data = client.get("/dags/ok_dag/states.json", params={"run_id": run_id}).json()
    assert data["runs"][run_id]["tasks"]["say"]["state"] == "success"
    assert data["active"] is False


_ = login


def test_the_try_list_shows_lost_tries_with_their_reason(
    env, client_for: Callable[[str], TestClient]
) -> None:
    from types import SimpleNamespace

    from sqlalchemy import select

    from tradewind.metastore.tables import TaskInstance
    from tradewind.services.outcomes import LOST
    from tradewind.services.try_end import record_history

    with env.db.session() as s:
        ti = s.execute(select(TaskInstance).where(TaskInstance.task_id == "boom")).scalar_one()
        row = SimpleNamespace(**{c.name: getattr(ti, c.name) for c in TaskInstance.__table__.c})
        row.try_number = 7
        record_history(s, row, LOST, "its worker <died>")
        run_id = ti.run_id
    panel = client_for("viewer").get(
        "/dags/broken_dag/ti", params={"run_id": run_id, "task_id": "boom"}
    )
    assert 'class="try lost"' in panel.text or 'class="try on lost"' in panel.text
    assert "try 7 (lost)" in panel.text
    assert 'title="lost: its worker &lt;died&gt;"' in panel.text
    assert "try 1</a>" in panel.text  # the failed try is not marked


def test_login_verifies_the_password_off_the_event_loop(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2 is slow on purpose: while one login verifies its password, the server still
    answers other requests (the verification runs in the threadpool, as /auth/token's)."""
    import asyncio
    import threading

    from tradewind.services import users

    real = users.verify_password
    gate, seen = threading.Event(), {}

    def verify(password_hash: str, password: str) -> bool:
        try:
            asyncio.get_running_loop()
            seen["on_loop"] = True
        except RuntimeError:
            seen["on_loop"] = False
        seen["released"] = gate.wait(10)  # until another request was answered meanwhile
        return real(password_hash, password)

    monkeypatch.setattr(users, "verify_password", verify)
    with TestClient(app, base_url="http://127.0.0.1") as client:  # one event loop for both
        token = csrf_of(client.get("/login").text)
        answer: dict[str, int] = {}

        def post() -> None:
            form = {"username": "admin", "password": PASSWORD, "csrf_token": token}
            answer["status"] = client.post("/login", data=form, follow_redirects=False).status_code

        login_thread = threading.Thread(target=post)
        login_thread.start()
        while "on_loop" not in seen and login_thread.is_alive():
            threading.Event().wait(0.01)  # the login has reached its verification
        assert client.get("/login").status_code == 200  # served while the login verifies
        gate.set()
        login_thread.join(60)
    assert seen == {"on_loop": False, "released": True}
    assert answer["status"] == 303  # the login itself still works


def test_the_code_page_shows_the_stored_source(client_for: Callable[[str], TestClient]) -> None:
    page = client_for("viewer").get("/dags/ok_dag/code")
    assert page.status_code == 200 and "hello-from-say" in page.text
    assert "not stored" not in page.text.lower()
