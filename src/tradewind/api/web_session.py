"""Web sessions: the signed cookie a browser logs in with, for the UI's pages and ``/api/v2``.

The session cookie holds only the user name, the user's credential version and the
session's CSRF token, signed with ``env.secret_key`` (itsdangerous); the user row is read
again on every request, so a deleted or deactivated user is logged out at once, and a
logout, password change or role change (which bump the version) ends every older cookie.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from tradewind.services.env import Env
from tradewind.services.user_service import UserService

SESSION_COOKIE = "tradewind_session"
SESSION_MAX_AGE = 12 * 3600
_SALT = "tradewind.ui.session"


def _serializer(env: Env) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(env.secret_key, salt=_SALT)


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
    user = UserService(env).active(str(data["u"]))
    if user is None:
        return None
    if data.get("v", 0) != user.version:
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
