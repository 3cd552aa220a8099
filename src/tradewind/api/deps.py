"""Dependencies of every API route: the environment, the caller, and the permission check."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tradewind.api import web_session
from tradewind.core.permissions import Action, Resource, is_allowed
from tradewind.errors import AuthenticationFailed, PermissionDenied
from tradewind.services.auth_tokens import verify_api_token
from tradewind.services.env import Env
from tradewind.services.user_service import UserService

_bearer = HTTPBearer(auto_error=False, description="A token from POST /auth/token")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class CurrentUser:
    """The authenticated caller: its user name and current roles."""

    username: str
    roles: tuple[str, ...]

    def can(self, resource: Resource, action: Action) -> bool:
        """Whether the caller's roles allow ``action`` on ``resource``."""
        return is_allowed(self.roles, resource, action)


def get_env(request: Request) -> Env:
    """The services' environment the app was built with (``app.state.env``)."""
    return request.app.state.env  # type: ignore[no-any-return]


EnvDep = Annotated[Env, Depends(get_env)]


def _session_user(request: Request, env: Env) -> Any | None:
    """The user of the UI's session cookie, if the cookie is valid.

    State-changing requests made with the cookie must carry the session's CSRF token in
    ``X-CSRF-Token``, as the UI's own forms do, so another site cannot ride the cookie.
    """
    user = web_session.user_from_request(request, env)
    if user is None or request.method in _SAFE_METHODS:
        return user
    session = web_session.read_session(request, env) or {}
    sent = request.headers.get("x-csrf-token", "")
    if not sent or not hmac.compare_digest(sent, str(session.get("csrf", ""))):
        raise PermissionDenied("CSRF token missing or wrong: send X-CSRF-Token with the session")
    return user


def current_user(
    request: Request,
    env: EnvDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> CurrentUser:
    """The caller, from ``Authorization: Bearer <token>`` or the UI's session cookie.

    The user row is read on every call, so a deleted or deactivated user, or a role
    removed, takes effect at once even for tokens issued before.

    Raises:
        AuthenticationFailed: no credentials, a bad or expired token, or an unknown user.
    """
    if credentials is not None and credentials.credentials:
        claims = verify_api_token(env.secret_key, credentials.credentials, env.now())
        found = UserService(env).active(claims.username)
        if found is None:
            raise AuthenticationFailed("Invalid token: the user no longer exists")
        if claims.version != found.version:
            raise AuthenticationFailed(
                "Token revoked (logout, password or role change); get a new one from "
                "POST /auth/token"
            )
        return CurrentUser(found.username, found.roles)
    user = _session_user(request, env)
    if user is None:
        raise AuthenticationFailed("Not authenticated")
    return CurrentUser(str(user.username), tuple(user.roles or ()))


UserDep = Annotated[CurrentUser, Depends(current_user)]


def requires(resource: Resource, action: Action) -> Callable[..., CurrentUser]:
    """A dependency that returns the caller if its roles allow ``action`` on ``resource``.

    Raises:
        PermissionDenied: the caller is authenticated but may not do this (403).
    """

    def check(user: UserDep) -> CurrentUser:
        if not user.can(resource, action):
            raise PermissionDenied(
                f"Forbidden: {action.value} on {resource.value} needs a role that allows it "
                f"(you have: {', '.join(user.roles) or 'no role'})"
            )
        return user

    check.__name__ = f"requires_{resource.name.lower()}_{action.value}"
    return check


def permission(resource: Resource, action: Action) -> Any:
    """``Depends(requires(resource, action))``, for a route's parameter type
    ``Annotated[CurrentUser, permission(resource, action)]`` (a type alias mypy can read)."""
    return Depends(requires(resource, action))


def allowed(resource: Resource, action: Action) -> Any:
    """``Annotated[CurrentUser, permission(resource, action)]`` built at run time (mypy cannot
    read it as a type: prefer writing the ``Annotated`` alias)."""
    return Annotated[CurrentUser, permission(resource, action)]
