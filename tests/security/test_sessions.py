"""Issue 18.3: a logout, a password reset, a role change or ``tradewind users revoke-sessions``
ends the user's sessions (UI cookie) and API tokens (JWT) issued before, everywhere."""

from __future__ import annotations

from typing import Any

from tests.security.conftest import csrf_of


def _cookie_client(site: Any, browser: Any) -> Any:
    """Another client carrying a copy of ``browser``'s session cookie (a stolen cookie)."""
    copy = site.browser()
    copy.cookies.set("tradewind_session", browser.cookies.get("tradewind_session"))
    return copy


def _reads_admin_page(client: Any) -> bool:
    resp = client.get("/admin/variables", follow_redirects=False)
    return resp.status_code == 200


def _token_works(site: Any, token: str) -> bool:
    resp = site.client.get("/api/v2/variables", headers={"Authorization": f"Bearer {token}"})
    return resp.status_code == 200


def test_logout_ends_the_cookie_everywhere(site: Any) -> None:
    browser = site.browser("admin")
    stolen = _cookie_client(site, browser)
    assert _reads_admin_page(stolen)
    token = site.token("admin")
    page = browser.get("/")
    resp = browser.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert resp.status_code == 303
    assert not _reads_admin_page(stolen)
    assert not _token_works(site, token)
    assert _reads_admin_page(site.browser("admin"))  # logging in again works


def test_password_reset_ends_old_cookie_and_token(site: Any, cli: Any) -> None:
    browser = site.browser("op")
    token = site.token("op")
    assert site.client.get("/api/v2/dags", headers={"Authorization": f"Bearer {token}"}).is_success
    result = cli("users", "reset-password", "-u", "op", "-p", "a new long password")
    assert result.exit_code == 0, result.output
    resp = browser.get("/dags", follow_redirects=False)
    assert resp.status_code == 303 and "/login" in resp.headers["location"]
    resp = site.client.get("/api/v2/dags", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401 and "revoked" in resp.json()["detail"]


def test_role_change_ends_old_sessions(site: Any, cli: Any) -> None:
    browser = site.browser("user")
    token = site.token("user")
    result = cli("users", "remove-role", "-u", "user", "-r", "User")
    assert result.exit_code == 0, result.output
    assert browser.get("/dags", follow_redirects=False).status_code == 303
    assert (
        site.client.get("/api/v2/dags", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )


def test_cli_revoke_sessions(site: Any, cli: Any) -> None:
    browser = site.browser("admin")
    token = site.token("admin")
    other = site.token("viewer")
    result = cli("users", "revoke-sessions", "-u", "admin")
    assert result.exit_code == 0, result.output
    assert not _reads_admin_page(browser)
    assert not _token_works(site, token)
    assert site.client.get(
        "/api/v2/dags", headers={"Authorization": f"Bearer {other}"}
    ).is_success  # another user's token is untouched
    result = cli("users", "revoke-sessions", "--all")
    assert result.exit_code == 0, result.output
    assert (
        site.client.get("/api/v2/dags", headers={"Authorization": f"Bearer {other}"}).status_code
        == 401
    )
    assert cli("users", "revoke-sessions").exit_code != 0


def test_api_token_not_valid_before_its_nbf(site: Any) -> None:
    import jwt

    now = int(site.env.now().timestamp())
    claims = {"sub": "admin", "aud": "tradewind:api", "iat": now, "nbf": now + 600}
    token = jwt.encode({**claims, "exp": now + 3600}, site.env.secret_key, algorithm="HS256")
    resp = site.client.get("/api/v2/dags", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401 and "not yet valid" in resp.json()["detail"]
