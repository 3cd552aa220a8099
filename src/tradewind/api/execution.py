"""The execution API over HTTP: ``POST /execution/task-instances/{ti_id}/<method>``.

Remote (Celery) workers reach the metastore only through these calls, authorised by the
task-scoped token of the try they run (``Authorization: Bearer <token>``). Each method hands its
JSON body to :class:`~tradewind.services.execution.ExecutionService`, which checks the token
and applies every state change as a compare-and-set.

The method table of :mod:`tradewind.core.execution_api` says for each method its body's
fields (the pydantic models here are generated from it), which service call answers it and
whether it may run on the event loop; its error table gives each error's status, and the
``x-tradewind-error`` header names the error's class, so a worker raises the class the service
raised. Two doors use it: :class:`ExecutionFastPath`, a plain ASGI layer
in front of the app that answers these calls without FastAPI's routing, dependency solving and
thread hop (they come 2-3 times per task try), and :data:`router`, the same methods as FastAPI
routes, for the OpenAPI document and for whatever the fast path leaves to it (invalid input,
which it answers with FastAPI's own 422 bodies).

``finish`` takes an optional ``log`` (a string of at most ``MAX_LOG_BYTES`` characters, as
``logs``): when present, the server first stores it as the try's log file exactly as ``POST
.../logs`` does (same token check, same path, atomic replace), then records the outcome, so a
remote worker sends its log and its outcome in one call::

    POST /execution/task-instances/12/finish
    {"outcome": "success", "error": null, "rendered_fields": null, "log": "...the try's log..."}
    -> 200 {"state": "success", "log": {"path": "/.../attempt=1.log", "bytes": 5120}}

If the log cannot be written (a full disk), the outcome is still recorded and the answer says
``"log": {"error": "..."}``; without ``log`` the answer is ``{"state": ...}`` as before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Header, HTTPException, Request
from pydantic import BaseModel, Field, ValidationError, create_model
from pydantic_core import to_json

from tradewind.core import execution_api as table
from tradewind.core.execution_api import ERROR_HEADER, MAX_LOG_BYTES, Method
from tradewind.services.env import Env
from tradewind.services.execution import ExecutionService

__all__ = ["MAX_LOG_BYTES", "ExecutionFastPath", "router"]
router = APIRouter(prefix="/execution", tags=["Execution"])


def _model(spec: Method) -> type[BaseModel] | None:
    """The request model of a method, generated from its fields in the method table."""
    if spec.body is None:
        return None
    fields: dict[str, Any] = {}
    for arg in spec.args:
        default = ... if arg.default is table.REQUIRED else arg.default
        if arg.max_length is not None:
            default = Field(default=default, max_length=arg.max_length)
        fields[arg.name] = (arg.type, default)
    return create_model(spec.body, **fields)


#: The request model of each method (None: the call has no body).
MODELS: dict[str, type[BaseModel] | None] = {name: _model(m) for name, m in table.METHODS.items()}


def _service(state: Any) -> ExecutionService:
    """One ExecutionService per app, built on first use from ``app.state.env``."""
    service = getattr(state, "execution_service", None)
    if service is None:
        env: Env = state.env
        service = state.execution_service = ExecutionService(env)
    return service


def _token(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(
            401,
            "missing task token: send 'Authorization: Bearer <token>'",
            headers={ERROR_HEADER: "AuthenticationFailed"},
        )
    return authorization.split(" ", 1)[1].strip()


def run_method(state: Any, method: str, ti_id: int, authorization: str | None, body: Any) -> Any:
    """Check the bearer header and run ``method``; errors of ours become HTTPExceptions whose
    status and class header come from the one error table."""
    token = _token(authorization)
    spec = table.METHODS[method]
    values = [getattr(body, a.name) for a in spec.args] if body is not None else []
    try:
        return table.call_service(_service(state), spec, ti_id, token, values)
    except Exception as exc:
        status = table.http_status(exc)
        if status is None:
            raise
        wire = table.encode_error(exc)
        raise HTTPException(status, wire["message"], headers={ERROR_HEADER: wire["type"]}) from None


# -- FastAPI routes (OpenAPI document, and what the fast path leaves to the app) --------------
Auth = Header(default=None)


def _add_route(method: str, spec: Method) -> None:
    model = MODELS[method]
    if model is None:

        def endpoint(ti_id: int, request: Request, authorization: str | None = Auth) -> Any:
            return run_method(request.app.state, method, ti_id, authorization, None)

    else:

        def endpoint(  # type: ignore[misc]
            ti_id: int, body: Any, request: Request, authorization: str | None = Auth
        ) -> Any:
            return run_method(request.app.state, method, ti_id, authorization, body)

        endpoint.__annotations__["body"] = model
    endpoint.__annotations__["return"] = dict[str, Any] if spec.returns else None
    endpoint.__name__ = spec.call_name
    endpoint.__doc__ = spec.doc or None
    router.add_api_route(f"/task-instances/{{ti_id}}/{method}", endpoint, methods=["POST"])


for _method, _spec in table.METHODS.items():
    _add_route(_method, _spec)


# -- the fast path ----------------------------------------------------------------------------
_PREFIX = "/execution/task-instances/"
_TI_ID = re.compile(r"-?[0-9]{1,18}")
_JSON_TYPE = re.compile(rb"application/json\s*(;.*)?", re.IGNORECASE | re.DOTALL)
_JSON_HEADERS = [(b"content-type", b"application/json")]
# Threads for the calls that may wait (a scheduler's pass locks the runs a finish touches):
# fewer than the metastore's pool size (5), so they never open and close overflow connections.
_THREADS = 4


class ExecutionFastPath:
    """ASGI layer answering ``POST /execution/task-instances/{ti_id}/<method>`` directly.

    It reads the body, validates it with the method's model and runs the service call: on
    the event loop for the ``inline`` methods, else in one of ``_THREADS`` worker threads (the
    calls block on the metastore). The answers, statuses and ``{"detail": ...}`` bodies are
    the routes'. Everything else goes to the app: other paths, and requests FastAPI must
    answer itself (invalid JSON or body, another content type), replayed with the body read.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self._limiter: anyio.CapacityLimiter | None = None  # made on first use, in the loop

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        target = _target(scope)
        if target is None:
            await self.app(scope, receive, send)
            return
        ti_id, method, spec = target
        authorization, json_type = _headers(scope)
        body, complete = await _read_body(receive)
        if not complete:
            return  # the client went away
        model = MODELS[method]
        if model is None:
            data = None
        else:
            try:
                data = model.model_validate_json(body) if json_type else None
            except ValidationError:
                data = None
            if data is None:  # FastAPI answers: its 422 bodies are part of the API
                await self.app(scope, _replay(body, receive), send)
                return
        state = scope["app"].state
        try:
            if spec.inline and not state.env.db.is_sqlite:
                answer = run_method(state, method, ti_id, authorization, data)
            else:
                if self._limiter is None:
                    self._limiter = anyio.CapacityLimiter(_THREADS)
                answer = await anyio.to_thread.run_sync(
                    run_method, state, method, ti_id, authorization, data, limiter=self._limiter
                )
        except HTTPException as exc:
            await _respond(send, exc.status_code, {"detail": exc.detail}, exc.headers)
            return
        except Exception as exc:
            handler = _handler_for(scope["app"], exc)
            if handler is None:
                raise
            response = await handler(Request(scope), exc)
            await response(scope, receive, send)
            return
        await _respond(send, 200, answer)


def _target(scope: Any) -> tuple[int, str, Method] | None:
    """The task instance id, method and its spec of an execution-API call, else None."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    if not path.startswith(_PREFIX):
        return None
    parts = path[len(_PREFIX) :].split("/")
    if len(parts) != 2 or parts[1] not in table.METHODS or not _TI_ID.fullmatch(parts[0]):
        return None
    return int(parts[0]), parts[1], table.METHODS[parts[1]]


def _headers(scope: Any) -> tuple[str | None, bool]:
    """The Authorization header (the first one), and whether the body is declared as JSON."""
    authorization: str | None = None
    json_type = False
    for name, value in scope["headers"]:
        if name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
        elif name == b"content-type":
            json_type = _JSON_TYPE.fullmatch(value) is not None
    return authorization, json_type


async def _read_body(receive: Any) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", False
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _replay(body: bytes, receive: Any) -> Any:
    """A ``receive`` that gives ``body`` once, then whatever the connection says next."""
    pending = True

    async def replayed() -> Any:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _respond(
    send: Any, status: int, content: Any, headers: Mapping[str, str] | None = None
) -> None:
    payload = to_json(content)
    raw = [*_JSON_HEADERS, (b"content-length", str(len(payload)).encode())]
    if headers:
        raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def _handler_for(app: Any, exc: Exception) -> Any:
    """The app's exception handler for ``exc`` (e.g. OverflowError -> 400), as routes get."""
    handlers = getattr(app, "exception_handlers", {})
    for cls in type(exc).__mro__:
        if cls is Exception:  # the catch-all one is ServerErrorMiddleware's, outside
            return None
        if cls in handlers:
            return handlers[cls]
    return None
