"""Issue 18.4: login throttling per user name and client address together (sliding window), so
one client's flood cannot lock the real user out; lock-outs are in the event log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from tests.security.conftest import PASSWORD, login


def _api_login(site: Any, username: str, password: str, address: str) -> Any:
    from fastapi.testclient import TestClient

    client = TestClient(site.client.app, base_url="http://127.0.0.1", client=(address, 1))
    return client.post("/auth/token", json={"username": username, "password": password})


def _events(env: Any, name: str) -> list[Any]:
    from tradewind.metastore.tables import EventLog as Log

    with env.db.session(readonly=True) as s:
        return list(s.scalars(select(Log).where(Log.event == name)))


def test_a_flood_from_one_client_does_not_lock_out_the_real_user(site: Any) -> None:
    for _ in range(8):
        assert _api_login(site, "admin", "wrong", "10.66.0.1").status_code == 401
    attacker = _api_login(site, "admin", PASSWORD, "10.66.0.1")
    assert attacker.status_code == 401 and "Too many failed logins" in attacker.text
    assert _api_login(site, "admin", PASSWORD, "127.0.0.7").status_code == 201
    browser = site.browser(address="127.0.0.8")
    assert login(browser, "admin").status_code == 303  # the UI form too
    lockouts = _events(site.env, "login_lockout")
    assert len(lockouts) == 1 and lockouts[0].owner == "admin"
    assert "10.66.0.1" in str(lockouts[0].extra)


def test_the_ui_form_is_throttled_per_client_too(site: Any) -> None:
    browser = site.browser(address="10.66.0.2")
    for _ in range(5):
        assert login(browser, "viewer", "nope").status_code == 401
    resp = login(browser, "viewer")
    assert resp.status_code == 401 and "Too many failed logins" in resp.text
    assert login(site.browser(address="10.66.0.3"), "viewer").status_code == 303


def test_the_window_slides(site: Any) -> None:
    for _ in range(5):
        _api_login(site, "op", "wrong", "10.66.0.4")
    assert _api_login(site, "op", PASSWORD, "10.66.0.4").status_code == 401
    site.env.clock.advance(seconds=61)
    assert _api_login(site, "op", PASSWORD, "10.66.0.4").status_code == 201


def test_one_client_spraying_many_names_is_stopped(site: Any) -> None:
    for i in range(20):
        _api_login(site, f"nobody{i}", "guess", "10.66.0.5")
    resp = _api_login(site, "user", PASSWORD, "10.66.0.5")
    assert resp.status_code == 401 and "Too many failed logins" in resp.text
    assert _api_login(site, "user", PASSWORD, "10.66.0.6").status_code == 201
    assert '"scope": "client"' in str(_events(site.env, "login_lockout")[-1].extra)
