"""The web server's FastAPI app: ``/api/v2`` (Airflow-compatible), ``/auth/token``, the UI.

``create_app(env)`` builds it around one services environment (``app.state.env``);
``app_from_settings()`` is the factory uvicorn calls in each worker process.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from tradewind import errors
from tradewind.core.execution_api import http_status
from tradewind.services.env import Env

log = logging.getLogger("tradewind.api")


def status_of(exc: errors.TradewindError) -> int:
    """The HTTP status Airflow answers for this kind of error (the one error table, shared
    with the execution API: ``core/execution_api.py``)."""
    return http_status(exc) or 400


async def _tradewind_error(request: Request, exc: Exception) -> JSONResponse:
    """Every error of ours becomes Airflow's ``{"detail": "..."}`` with the right status."""
    assert isinstance(exc, errors.TradewindError)
    code = status_of(exc)
    if code >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc)
    headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
    return JSONResponse({"detail": str(exc)}, status_code=code, headers=headers)


async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
    """An integer too large for the metastore's columns is bad input, not a server error."""
    return JSONResponse(
        {"detail": f"A number in the request is out of range: {exc}"}, status_code=400
    )


def _optional_router(module: str) -> APIRouter | None:
    """``module.router`` if another part of Tradewind provides it, else None."""
    try:
        found = importlib.import_module(module)
    except ImportError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise
    router = getattr(found, "router", None)
    return router if isinstance(router, APIRouter) else None


def create_app(env: Env) -> FastAPI:
    """Build the web server's app around ``env``.

    Every route needs a bearer token or the UI's session cookie, except ``POST /auth/token``,
    ``/api/v2/monitor/health``, ``/api/v2/version``, the OpenAPI document, and the UI's login
    page and static files.
    """
    from tradewind import __version__
    from tradewind.api.auth import router as auth_router
    from tradewind.api.metrics_route import metrics_router
    from tradewind.api.v2.routes import router as v2_router

    app = FastAPI(
        title="Tradewind API",
        description="Apache Airflow 3's stable REST API (/api/v2), served by Tradewind.",
        version=__version__,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.env = env
    app.add_exception_handler(errors.TradewindError, _tradewind_error)
    app.add_exception_handler(OverflowError, _out_of_range)

    app.include_router(auth_router)
    app.include_router(v2_router, prefix="/api/v2")
    app.include_router(metrics_router(env.settings))
    execution = _optional_router("tradewind.api.execution")
    if execution is not None:
        from tradewind.api.execution import ExecutionFastPath

        app.include_router(execution)
        # Inside SecurityHeaders (added last, so outermost): its answers get the headers too.
        app.add_middleware(ExecutionFastPath)
    app.add_middleware(SecurityHeaders)
    ui = _optional_router("tradewind.ui.routes")
    if ui is not None:
        app.include_router(ui)
        _mount_ui_static(app)
    return app


#: No inline script, style or event handler; nothing from other origins; no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: FastAPI's own API explorer pages load Swagger UI / ReDoc from a CDN with inline script.
_CSP_EXEMPT = ("/docs", "/redoc")


class SecurityHeaders:
    """Add ``nosniff``, ``DENY`` framing and the Content-Security-Policy to every answer.

    A plain ASGI middleware: Starlette's ``@app.middleware("http")`` wraps each request in
    extra tasks and streams, which cost about 1-2 ms per call of the execution API.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                from starlette.datastructures import MutableHeaders

                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                if not scope["path"].startswith(_CSP_EXEMPT):
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _mount_ui_static(app: FastAPI) -> None:
    """Serve the UI's static files if the UI package ships them and did not mount them."""
    from pathlib import Path

    from fastapi.staticfiles import StaticFiles

    static = Path(importlib.import_module("tradewind.ui").__file__ or "").parent / "static"
    mounted = any(getattr(r, "path", None) == "/static" for r in app.routes)
    if static.is_dir() and not mounted:
        app.mount("/static", StaticFiles(directory=static), name="static")


def app_from_settings() -> FastAPI:
    """Factory for uvicorn (``factory=True``): settings from ``TRADEWIND_HOME``, then the app."""
    from tradewind.observability.setup import setup_observability
    from tradewind.settings import load_settings

    settings = load_settings()
    setup_observability(settings)
    env = Env.from_settings(settings)
    env.db.refresh_statistics()  # the list pages' plans on SQLite depend on them
    return create_app(env)
