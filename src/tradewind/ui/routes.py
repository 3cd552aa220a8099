"""The web UI's router: login and logout, static files, and every page and action.

``tradewind.api.app:create_app`` includes ``router``; a bare ``FastAPI()`` with
``app.state.env = env`` and ``app.include_router(router)`` serves the UI alone.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tradewind.api.web_session import clear_session, read_session, set_session, user_from_request
from tradewind.errors import AuthenticationFailed
from tradewind.services.user_service import UserService
from tradewind.ui import (
    actions,
    admin,
    pages_assets,
    pages_browse,
    pages_dag_more,
    pages_dag_views,
    pages_dags,
    pages_monitor,
    pages_system,
)
from tradewind.ui.auth import LOGIN_CSRF_COOKIE, env_of, safe_next
from tradewind.ui.rendering import STATIC_DIR, code_css, render

router = APIRouter(include_in_schema=False)
_STATIC_TYPES = {
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> RedirectResponse:
    """Browsers ask for /favicon.ico before reading the page's <link rel=icon>."""
    return RedirectResponse("/static/favicon.svg", status_code=301)


@router.get("/static/code.css")
def code_stylesheet() -> Response:
    """The Pygments styles of highlighted code (a file, so no inline <style> is needed)."""
    return Response(code_css(), media_type="text/css", headers={"Cache-Control": "max-age=300"})


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    """A file of ``ui/static`` (flat directory; no path traversal possible)."""
    path = STATIC_DIR / name
    if (
        "/" in name
        or name.startswith(".")
        or path.suffix not in _STATIC_TYPES
        or not path.is_file()
    ):
        raise HTTPException(404, "no such file")
    return FileResponse(
        path, media_type=_STATIC_TYPES[path.suffix], headers={"Cache-Control": "max-age=300"}
    )


def _login_page(
    request: Request, next_url: str, error: str | None, status: int = 200
) -> HTMLResponse:
    """The login form with a fresh double-submit CSRF token (cookie + hidden field)."""
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        None,
        status,
        next=next_url,
        error=error,
        login_csrf=token,
        title="Log in",
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    """The login page (straight on to ``next`` when already logged in)."""
    if user_from_request(request, env_of(request)) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, safe_next(next), None)


@router.post("/login", response_model=None)
async def login(request: Request) -> Response:
    """Check the user name and password; start a session and go to ``next``."""
    env = env_of(request)
    form = await request.form()
    next_url = safe_next(str(form.get("next") or "/"))
    sent, cookie = str(form.get("csrf_token", "")), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not sent or not cookie or not hmac.compare_digest(sent, cookie):
        return _login_page(request, next_url, "Your form expired; please try again.", 403)
    username = str(form.get("username", "")).strip()
    client = request.client.host if request.client else ""
    log_in = UserService(env).log_in  # argon2 is slow on purpose: off the event loop
    try:
        user = await run_in_threadpool(log_in, username, str(form.get("password", "")), client)
    except AuthenticationFailed as exc:
        return _login_page(request, next_url, str(exc), 401)
    response = RedirectResponse(next_url, status_code=303)
    set_session(response, request, env, username, user.version)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request) -> RedirectResponse:
    """End the session (POST with the CSRF token, so another site cannot log one out)."""
    env = env_of(request)
    data = read_session(request, env)
    form = await request.form()
    if data is not None and not hmac.compare_digest(
        str(data["csrf"]), str(form.get("csrf_token", ""))
    ):
        raise HTTPException(403, "CSRF token missing or wrong")
    if data is not None and user_from_request(request, env) is not None:
        # End this session everywhere, not just in this browser: a copied cookie (or an API
        # token issued before) stops working too.
        UserService(env).log_out(str(data["u"]))
    response = RedirectResponse("/login", status_code=303)
    clear_session(response)
    return response


router.include_router(pages_dags.router)
router.include_router(pages_dag_views.router)
router.include_router(actions.router)
router.include_router(pages_browse.router)
router.include_router(admin.router)
router.include_router(pages_assets.router)
router.include_router(pages_dag_more.router)
router.include_router(pages_system.router)
router.include_router(pages_monitor.router)
