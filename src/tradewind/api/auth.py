"""``POST /auth/token``: user name and password in, a bearer token for the REST API out."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, status
from pydantic import ValidationError

from tradewind.api.deps import EnvDep
from tradewind.api.v2.schemas import LoginBody, LoginResponse
from tradewind.errors import InvalidInput
from tradewind.services.auth_tokens import issue_api_token
from tradewind.services.user_service import UserService

router = APIRouter(tags=["Auth"])

_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": LoginBody.model_json_schema()},
            "application/x-www-form-urlencoded": {"schema": LoginBody.model_json_schema()},
        },
    }
}


async def _credentials(request: Request) -> LoginBody:
    """Read ``{username, password}`` from a JSON or form body (OAuth2 password-flow tools)."""
    raw = await request.body()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if ctype == "application/x-www-form-urlencoded":
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
            data: Any = {k: v[0] for k, v in form.items() if k in ("username", "password")}
        else:
            data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("the body must be JSON or a form with username and password") from None
    try:
        return LoginBody.model_validate(data)
    except ValidationError as exc:
        from fastapi.exceptions import RequestValidationError

        raise RequestValidationError(exc.errors(include_url=False)) from None


@router.post(
    "/auth/token",
    status_code=status.HTTP_201_CREATED,
    response_model=LoginResponse,
    openapi_extra=_BODY_DOC,
    responses={401: {"description": "Invalid credentials"}},
)
async def create_token(request: Request, env: EnvDep) -> LoginResponse:
    """Exchange a user name and password for a JWT bearer token (Airflow's simple auth)."""
    body = await _credentials(request)
    return await _issue(env, body, client_address(request))


def client_address(request: Request) -> str:
    """The caller's address, the key of login throttling (with the user name)."""
    return request.client.host if request.client else ""


async def _issue(env: Any, body: LoginBody, client: str) -> LoginResponse:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(_issue_sync, env, body, client)


def _issue_sync(env: Any, body: LoginBody, client: str) -> LoginResponse:
    """Check the password (argon2 is slow on purpose: off the event loop) and sign a token."""
    user = UserService(env).log_in(body.username, body.password, client, via="api")
    ttl = int(env.settings.get("api", "access_token_expiration_time"))
    token = issue_api_token(
        env.secret_key, body.username, list(user.roles), env.now(), ttl, user.version
    )
    return LoginResponse(access_token=token)
