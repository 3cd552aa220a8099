"""Web sessions: signed cookies, CSRF tokens, and role checks for every page and action.

The session cookie holds only the user name, the user's credential version and the
session's CSRF token, signed with ``env.secret_key`` (itsdangerous); the user row is read
again on every request, so a deleted or deactivated user is logged out at once, and a
logout, password change or role change (which bump the version) ends every older cookie. Every state-changing request must carry the
session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import HTTPException, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from tradewind.core.permissions import Action, Resource, is_allowed
from tradewind.services.env import Env
from tradewind.services.users import credential_version, find_user

SESSION_COOKIE = "tradewind_session"
LOGIN_CSRF_COOKIE = "tradewind_login_csrf"
SESSION_MAX_AGE = 12 * 3600
_SALT = "tradewind.ui.session"


def _serializer(env: Env) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(env.secret_key, salt=_SALT)


def env_of(request: Request) -> Env:
    """The services' environment the app was built with."""
    return request.app.state.env  # type: ignore[no-any-return]


def read_session(request: Request, env: Env) -> dict[str, Any] | None:
    """The verified session cookie's content, or None (absent, forged or expired)."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        data = _serializer(env).loads(raw, max_age=SESSION_MAX_AGE)
    except BadSignature:
        return None
    return data if isinstance(data, dict) and "u" in data and "csrf" in data else None


def user_from_request(request: Request, env: Env) -> Any | None:
    """The active user whose session cookie the request carries, or None.

    The API's ``current_user`` dependency calls this too, so a logged-in browser can call
    ``/api/v2`` with its cookie.
    """
    data = read_session(request, env)
    if data is None:
        return None
    with env.db.session(readonly=True) as session:
        user = find_user(session, str(data["u"]))
    if user is None or not user.active:
        return None
    if data.get("v", 0) != credential_version(user):
        return None  # revoked: logout, password or role change since the cookie was made
    return user


def set_session(
    response: Response, request: Request, env: Env, username: str, version: int = 0
) -> None:
    """Start a session for ``username`` (at credential ``version``) with a fresh CSRF token."""
    token = _serializer(env).dumps({"u": username, "v": version, "csrf": secrets.token_urlsafe(24)})
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session(response: Response) -> None:
    """End the session."""
    response.delete_cookie(SESSION_COOKIE, path="/")


def csrf_token(request: Request, env: Env) -> str:
    """The session's CSRF token (empty when there is no session)."""
    data = read_session(request, env)
    return str(data["csrf"]) if data else ""


async def check_csrf(request: Request, env: Env) -> None:
    """Refuse (403) a state-changing request without the session's CSRF token."""
    expected = csrf_token(request, env)
    given = request.headers.get("x-csrf-token", "")
    if not given and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        given = str(form.get("csrf_token", ""))
    if not expected or not hmac.compare_digest(expected, given):
        raise HTTPException(403, "CSRF token missing or wrong: reload the page and try again")


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/`` (no open redirects)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target:
        return "/"
    return target


def require(request: Request, resource: Resource, action: Action = Action.READ) -> Any:
    """The logged-in user if allowed ``action`` on ``resource``.

    Raises:
        HTTPException: 303 to the login page without a session, 403 without the permission.
    """
    env = env_of(request)
    user = user_from_request(request, env)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(
            303, "login required", headers={"Location": "/login?next=" + quote(target)}
        )
    if not is_allowed(user.roles, resource, action):
        raise HTTPException(403, f"your roles {user.roles} may not {action.value} {resource.value}")
    return user


def can(user: Any, resource: Resource, action: Action) -> bool:
    """Whether ``user`` may do ``action`` on ``resource`` (for showing buttons)."""
    return user is not None and is_allowed(user.roles, resource, action)
