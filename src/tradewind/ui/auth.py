"""The UI's page guards: role checks for every page and action, CSRF checks, safe redirects.

The session cookie itself (signed, holding the user name, credential version and CSRF
token) is ``api/web_session.py``, shared with the REST API, which accepts it too. Every
state-changing request must carry the session's CSRF token (form field ``csrf_token`` or
header ``X-CSRF-Token``).
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import HTTPException, Request

from tradewind.api.web_session import csrf_token, user_from_request
from tradewind.core.permissions import Action, Resource, is_allowed
from tradewind.services.env import Env

LOGIN_CSRF_COOKIE = "tradewind_login_csrf"


def env_of(request: Request) -> Env:
    """The services' environment the app was built with."""
    return request.app.state.env  # type: ignore[no-any-return]


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
