"""The execution API over HTTP: ``POST /execution/task-instances/{ti_id}/<method>``.

Remote (Celery) workers reach the metastore only through these calls, authorised by the
task-scoped token of the try they run (``Authorization: Bearer <token>``). Each method hands its
JSON body to :class:`~tradewind.services.execution.ExecutionService`, which checks the token
and applies every state change as a compare-and-set.

One table, :data:`METHODS`, says for each method which pydantic model its body must match and
which service call answers it. Two doors use it: :class:`ExecutionFastPath`, a plain ASGI layer
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

import logging
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Header, HTTPException, Request
from pydantic import BaseModel, Field, ValidationError
from pydantic_core import to_json

from tradewind.core.execution import Outcome
from tradewind.errors import (
    AuthenticationFailed,
    ExecutionAPIError,
    InvalidInput,
    NotFound,
    TaskInstanceMoved,
    TradewindError,
)
from tradewind.services.celery_tracking import TaskInstanceKey, task_instance_key
from tradewind.services.env import Env
from tradewind.services.execution import ExecutionService
from tradewind.services.tokens import check_current_try, verify_ti_token
from tradewind.worker.logs import log_path

log = logging.getLogger("tradewind.api.execution")
router = APIRouter(prefix="/execution", tags=["Execution"])
MAX_LOG_BYTES = 20 * 1024 * 1024


class ClaimBody(BaseModel):
    hostname: str
    pid: int


class HeartbeatBody(BaseModel):
    pid: int


class XComGetBody(BaseModel):
    dag_id: str
    run_id: str
    task_id: str
    key: str
    map_index: int = -1


class XComSetBody(BaseModel):
    key: str
    value: Any = None


class VariableBody(BaseModel):
    key: str


class ConnectionBody(BaseModel):
    conn_id: str


class SkipBody(BaseModel):
    task_ids: list[str]


class FinishBody(BaseModel):
    outcome: str
    error: str | None = None
    rendered_fields: dict[str, Any] | None = None
    log: str | None = Field(default=None, max_length=MAX_LOG_BYTES)


class DeferBody(BaseModel):
    trigger: dict[str, Any]


class TriggerRunBody(BaseModel):
    dag_id: str
    run_id: str | None = None
    conf: dict[str, Any] | None = None
    logical_date: str | None = None
    reset_dag_run: bool = False


class RunStateBody(BaseModel):
    dag_id: str
    run_id: str


class TaskStatesBody(BaseModel):
    dag_id: str
    run_id: str | None = None
    logical_date: str | None = None
    task_ids: list[str] | None = None


class RescheduleBody(BaseModel):
    reschedule_date: str


class LogBody(BaseModel):
    text: str = Field(max_length=MAX_LOG_BYTES)


def _service(state: Any) -> ExecutionService:
    """One ExecutionService per app, built on first use from ``app.state.env``."""
    service = getattr(state, "execution_service", None)
    if service is None:
        env: Env = state.env
        service = state.execution_service = ExecutionService(env)
    return service


def _token(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(401, "missing task token: send 'Authorization: Bearer <token>'")
    return authorization.split(" ", 1)[1].strip()


_STATUS: list[tuple[type[Exception], int]] = [
    (AuthenticationFailed, 401),
    (TaskInstanceMoved, 409),
    (NotFound, 404),
    (InvalidInput, 422),
    (ExecutionAPIError, 409),
    (TradewindError, 400),
    (ValueError, 422),
]


# Where each claimed task instance's logs go, so a log upload needs no query (an identity
# never changes; a miss, e.g. on another webserver process, falls back to the metastore).
_KEYS: dict[int, TaskInstanceKey] = {}
_MAX_KEYS = 20_000


def _claim(state: Any, ti_id: int, token: str, body: ClaimBody) -> dict[str, Any]:
    answer = _service(state).claim(ti_id, token, body.hostname, body.pid)
    ti = answer["ti"]
    if len(_KEYS) >= _MAX_KEYS:
        _KEYS.clear()
    _KEYS[ti_id] = TaskInstanceKey(ti["dag_id"], ti["run_id"], ti["task_id"], ti["map_index"])
    return answer


def _finish(state: Any, ti_id: int, token: str, body: FinishBody) -> dict[str, Any]:
    if body.log is None:
        return _service(state).finish(ti_id, token, body.outcome, body.error, body.rendered_fields)
    Outcome(body.outcome)  # a bad outcome is refused (422) before the log is written
    try:
        stored = _store_log(state.env, ti_id, token, body.log)
    except OSError as exc:
        log.error("log of task instance %s not stored: %s", ti_id, exc)
        stored = {"error": f"log not stored: {exc}"}
    answer = _service(state).finish(ti_id, token, body.outcome, body.error, body.rendered_fields)
    return {**answer, "log": stored}


def _upload_log(state: Any, ti_id: int, token: str, body: LogBody) -> dict[str, Any]:
    return _store_log(state.env, ti_id, token, body.text)


def _verify(state: Any, ti_id: int, token: str, body: None) -> dict[str, Any]:
    try_number = verify_ti_token(state.env.secret_key, token, ti_id, callback_ok=True)
    return {"valid": True, "try_number": try_number}


def _store_log(env: Env, ti_id: int, token: str, text: str) -> dict[str, Any]:
    """Store the log of the token's try in this node's log folder (replacing an older copy).

    Allowed after the outcome (callbacks' lines come later, a lost try's log is sent once
    its process died): the token writes nothing but its own try's log file.
    """
    try_number = verify_ti_token(env.secret_key, token, ti_id, callback_ok=True)
    with env.db.engine.connect() as c:
        check_current_try(c, ti_id, try_number, running=False, past=True)
    key = _KEYS.get(ti_id)
    if key is None:
        with env.db.session(readonly=True) as s:
            key = task_instance_key(s, ti_id)
    path = log_path(
        env.settings.log_folder, key.dag_id, key.run_id, key.task_id, try_number, key.map_index
    )
    _write_atomically(path, text)
    return {"path": str(path), "bytes": len(text.encode())}


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".log")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Method:
    """One execution-API method: the model of its body (None: no body) and its service call."""

    body: type[BaseModel] | None
    call: Callable[[Any, int, str, Any], Any]  # (app state, ti_id, token, validated body)
    name: str = ""  # the route's name (operation id) when it differs from the method's
    doc: str = ""
    empty: bool = False  # answers ``null``
    #: Short, and waits on no lock another process holds long (only its own task instance's
    #: row): the fast path runs it on the event loop, saving a thread hop (~0.2-0.3 ms of CPU),
    #: except on SQLite, where every write waits for the database's one write lock.
    inline: bool = False


def _svc(name: str, *fields: str) -> Callable[[Any, int, str, Any], Any]:
    """A call that passes the body's ``fields`` to the service method ``name``, in order."""

    def call(state: Any, ti_id: int, token: str, body: Any) -> Any:
        fn = getattr(_service(state), name)
        return fn(ti_id, token, *(getattr(body, f) for f in fields))

    return call


METHODS: dict[str, Method] = {
    "claim": Method(ClaimBody, _claim, inline=True),
    "heartbeat": Method(HeartbeatBody, _svc("heartbeat", "pid"), inline=True),
    "xcom_get": Method(
        XComGetBody, _svc("xcom_get", "dag_id", "run_id", "task_id", "key", "map_index")
    ),
    "xcom_set": Method(XComSetBody, _svc("xcom_set", "key", "value"), empty=True),
    "get_variable": Method(VariableBody, _svc("get_variable", "key")),
    "get_connection": Method(ConnectionBody, _svc("get_connection", "conn_id")),
    "skip_tasks": Method(SkipBody, _svc("skip_tasks", "task_ids"), empty=True),
    "finish": Method(FinishBody, _finish, doc="Record the try's outcome (and store its log)."),
    "defer": Method(DeferBody, _svc("defer", "trigger")),
    "reschedule": Method(RescheduleBody, _svc("reschedule", "reschedule_date")),
    "trigger_dag_run": Method(
        TriggerRunBody,
        _svc("trigger_dag_run", "dag_id", "run_id", "conf", "logical_date", "reset_dag_run"),
    ),
    "get_dag_run_state": Method(RunStateBody, _svc("get_dag_run_state", "dag_id", "run_id")),
    "get_task_states": Method(
        TaskStatesBody,
        _svc("get_task_states", "dag_id", "run_id", "logical_date", "task_ids"),
    ),
    "logs": Method(
        LogBody,
        _upload_log,
        name="upload_log",
        doc="Store the log of the token's try in this node's log folder (replacing an older copy).",
    ),
    "verify": Method(
        None,
        _verify,
        inline=True,
        doc="Check a token (DAG callbacks carry one for their negative id); 401 when not valid.",
    ),
}


def run_method(state: Any, method: str, ti_id: int, authorization: str | None, body: Any) -> Any:
    """Check the bearer header and run ``method``; errors of ours become HTTPExceptions."""
    token = _token(authorization)
    try:
        return METHODS[method].call(state, ti_id, token, body)
    except Exception as exc:
        for cls, status in _STATUS:
            if isinstance(exc, cls):
                raise HTTPException(status, str(exc)) from None
        raise


# -- FastAPI routes (OpenAPI document, and what the fast path leaves to the app) --------------
Auth = Header(default=None)


def _add_route(method: str, spec: Method) -> None:
    if spec.body is None:

        def endpoint(ti_id: int, request: Request, authorization: str | None = Auth) -> Any:
            return run_method(request.app.state, method, ti_id, authorization, None)

    else:

        def endpoint(  # type: ignore[misc]
            ti_id: int, body: Any, request: Request, authorization: str | None = Auth
        ) -> Any:
            return run_method(request.app.state, method, ti_id, authorization, body)

        endpoint.__annotations__["body"] = spec.body
    endpoint.__annotations__["return"] = None if spec.empty else dict[str, Any]
    endpoint.__name__ = spec.name or method
    endpoint.__doc__ = spec.doc or None
    router.add_api_route(f"/task-instances/{{ti_id}}/{method}", endpoint, methods=["POST"])


for _method, _spec in METHODS.items():
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
        if spec.body is None:
            data = None
        else:
            try:
                data = spec.body.model_validate_json(body) if json_type else None
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
    if len(parts) != 2 or parts[1] not in METHODS or not _TI_ID.fullmatch(parts[0]):
        return None
    return int(parts[0]), parts[1], METHODS[parts[1]]


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
