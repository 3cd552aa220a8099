"""The execution API written once: its method table, its error codec, its generated clients.

Every transport is built from :data:`METHODS`: the HTTP client (``worker/http_client.py``),
the pipe client and its allow-list (``worker/_pipe.py``), the FastAPI routes and their
ASGI fast path (``api/execution.py``) and the in-process transport (:class:`InProcessClient`).
Errors travel as their class name (:func:`encode_error` / :func:`decode_error`), so the class a
service raises is the class a worker catches, whatever the transport; the HTTP status of each
class comes from :data:`ERROR_STATUS`, which the REST API uses as well.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tradewind import errors

#: The largest log a worker may send with ``finish`` or ``logs`` (characters).
MAX_LOG_BYTES = 20 * 1024 * 1024
#: The HTTP header that names the error class of an error answer.
ERROR_HEADER = "x-tradewind-error"


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Arg:
    """One request field of a method (after ``ti_id`` and ``token``, which every call has)."""

    name: str
    type: Any
    default: Any = REQUIRED
    max_length: int | None = None


@dataclass(frozen=True)
class Method:
    """One execution-API method.

    Attributes:
        name: the wire name (the HTTP path's last segment, the pipe's method).
        args: the request fields, in the order of the Python signature.
        body: the name of the HTTP request model; None when the call has no body.
        returns: False when the call answers ``null``.
        inline: short, and waits on no lock another process holds long (only its own task
            instance's row): the HTTP fast path may run it on the event loop (not on SQLite,
            where every write waits for the database's one write lock).
        worker: part of the task runner's protocol (the pipe forwards it); False: HTTP only.
        attr: the Python method's name when it differs from ``name``.
        doc: a one-line description (the OpenAPI summary).
    """

    name: str
    args: tuple[Arg, ...] = ()
    body: str | None = None
    returns: bool = True
    inline: bool = False
    worker: bool = True
    attr: str = ""
    doc: str = ""

    @property
    def call_name(self) -> str:
        return self.attr or self.name

    def bind(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> list[Any]:
        """The positional values of a call's fields; TypeError for a missing or unknown one."""
        if len(args) > len(self.args):
            raise TypeError(f"{self.call_name}() takes {len(self.args)} arguments after the token")
        values = list(args)
        for spec in self.args[len(args) :]:
            if spec.name in kwargs:
                values.append(kwargs[spec.name])
            elif spec.default is not REQUIRED:
                values.append(spec.default)
            else:
                raise TypeError(f"{self.call_name}() is missing the argument {spec.name!r}")
        unknown = set(kwargs) - {a.name for a in self.args[len(args) :]}
        if unknown:
            raise TypeError(f"{self.call_name}() got unexpected arguments {sorted(unknown)}")
        return values

    def from_body(self, body: Mapping[str, Any] | None) -> list[Any]:
        """The positional values of a call from its JSON body (defaults where absent)."""
        return self.bind((), {k: v for k, v in (body or {}).items() if k in self._names})

    def to_body(self, values: Sequence[Any]) -> dict[str, Any]:
        return {a.name: v for a, v in zip(self.args, values, strict=True)}

    @property
    def _names(self) -> frozenset[str]:
        return frozenset(a.name for a in self.args)


_S, _I, _OS = str, int, str | None
_OD = dict[str, Any] | None
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("claim", (Arg("hostname", _S), Arg("pid", _I)), "ClaimBody", inline=True),
        Method("heartbeat", (Arg("pid", _I),), "HeartbeatBody", inline=True),
        Method(
            "xcom_get",
            (
                Arg("dag_id", _S),
                Arg("run_id", _S),
                Arg("task_id", _S),
                Arg("key", _S),
                Arg("map_index", _I, -1),
            ),
            "XComGetBody",
        ),
        Method("xcom_set", (Arg("key", _S), Arg("value", Any, None)), "XComSetBody", returns=False),
        Method("get_variable", (Arg("key", _S),), "VariableBody"),
        Method("get_connection", (Arg("conn_id", _S),), "ConnectionBody"),
        Method("skip_tasks", (Arg("task_ids", list[str]),), "SkipBody", returns=False),
        Method(
            "finish",
            (
                Arg("outcome", _S),
                Arg("error", _OS, None),
                Arg("rendered_fields", _OD, None),
                Arg("log", _OS, None, max_length=MAX_LOG_BYTES),
                Arg("asset_events", list[dict[str, Any]] | None, None),
            ),
            "FinishBody",
            doc="Record the try's outcome (and store its log, and its outlets' asset events).",
        ),
        Method("defer", (Arg("trigger", dict[str, Any]),), "DeferBody"),
        Method("reschedule", (Arg("reschedule_date", _S),), "RescheduleBody"),
        # Cross-DAG calls (TriggerDagRunOperator, ExternalTaskSensor): services/execution_ext.py
        Method(
            "trigger_dag_run",
            (
                Arg("dag_id", _S),
                Arg("run_id", _OS, None),
                Arg("conf", _OD, None),
                Arg("logical_date", _OS, None),
                Arg("reset_dag_run", bool, False),
            ),
            "TriggerRunBody",
        ),
        Method("get_dag_run_state", (Arg("dag_id", _S), Arg("run_id", _S)), "RunStateBody"),
        Method(
            "get_task_states",
            (
                Arg("dag_id", _S),
                Arg("run_id", _OS, None),
                Arg("logical_date", _OS, None),
                Arg("task_ids", list[str] | None, None),
            ),
            "TaskStatesBody",
        ),
        # task_state_store / asset_state_store in task code: services/execution_state.py
        Method(
            "state_get",
            (Arg("scope", _S), Arg("key", _S), Arg("asset_uri", _OS, None)),
            "StateGetBody",
        ),
        Method(
            "state_set",
            (
                Arg("scope", _S),
                Arg("key", _S),
                Arg("asset_uri", _OS, None),
                Arg("value", Any, None),
                Arg("expiry", _S, "default"),
            ),
            "StateSetBody",
            returns=False,
        ),
        Method(
            "state_delete",
            (Arg("scope", _S), Arg("key", _S), Arg("asset_uri", _OS, None)),
            "StateDeleteBody",
            returns=False,
        ),
        # inlet_events in task code: services/execution_ext.py
        Method(
            "get_asset_events",
            (Arg("uri", _OS, None), Arg("alias", _OS, None)),
            "AssetEventsBody",
            doc="The recorded events of an asset (or of an alias), oldest first.",
        ),
        # HTTP only: remote workers' log uploads, and DAG callbacks' token check.
        Method(
            "logs",
            (Arg("text", _S, max_length=MAX_LOG_BYTES),),
            "LogBody",
            worker=False,
            attr="upload_log",
            doc="Store the log of the token's try in this node's log folder (replacing an older copy).",
        ),
        Method(
            "verify",
            inline=True,
            worker=False,
            doc="Check a token (DAG callbacks carry one for their negative id); 401 when not valid.",
        ),
    )
}
#: Python method name -> method (``upload_log`` -> ``logs``).
BY_CALL_NAME: dict[str, Method] = {m.call_name: m for m in METHODS.values()}
#: The calls a task runner may make through a pipe (the local executor, a forked Celery try).
WORKER_METHODS: frozenset[str] = frozenset(m.call_name for m in METHODS.values() if m.worker)


# -- the error codec ---------------------------------------------------------------------------
#: Each error class the API may raise and its HTTP status; the most specific class first.
ERROR_STATUS: tuple[tuple[type[errors.TradewindError], int], ...] = (
    (errors.AuthenticationFailed, 401),
    (errors.PermissionDenied, 403),
    (errors.NotFound, 404),
    (errors.TaskInstanceMoved, 409),
    (errors.AlreadyExists, 409),
    (errors.Conflict, 409),
    (errors.ExecutionAPIError, 409),
    (errors.ParamValidationError, 400),
    (errors.XComTooLarge, 400),
    (errors.InvalidInput, 400),
    (errors.DagCycleError, 400),
    (errors.DuplicateTaskIdError, 400),
    (errors.DagDefinitionError, 400),
    (errors.ConfigError, 500),
    (errors.TradewindError, 400),
)
_BY_NAME: dict[str, type[errors.TradewindError]] = {c.__name__: c for c, _ in ERROR_STATUS}
#: A ValueError of a service (a malformed outcome, date...) is bad input: 422, InvalidInput.
_VALUE_ERROR_STATUS = 422


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of an error of ours (or a ValueError); None for anything else."""
    if isinstance(exc, errors.TradewindError):
        for cls, code in ERROR_STATUS:
            if isinstance(exc, cls):
                return code
    if isinstance(exc, ValueError):
        return _VALUE_ERROR_STATUS
    return None


def error_name(exc: BaseException) -> str:
    """The class name that travels for ``exc``: its own, or the nearest one the codec knows."""
    if isinstance(exc, errors.TradewindError):
        for cls in type(exc).__mro__:
            if cls.__name__ in _BY_NAME and cls is _BY_NAME[cls.__name__]:
                return cls.__name__
    if isinstance(exc, ValueError):
        return errors.InvalidInput.__name__
    return errors.ExecutionAPIError.__name__


def encode_error(exc: BaseException) -> dict[str, str]:
    """``{"type": <class name>, "message": ...}`` for the wire."""
    message = str(exc)
    if not isinstance(exc, errors.TradewindError | ValueError):
        message = f"{type(exc).__name__}: {message}"
    return {"type": error_name(exc), "message": message}


def decode_error(info: Mapping[str, Any]) -> errors.TradewindError:
    """The exception an error answer stands for (ExecutionAPIError for an unknown class)."""
    name = str(info.get("type") or "")
    message = str(info.get("message") or "")
    cls = _BY_NAME.get(name)
    if cls is None:
        return errors.ExecutionAPIError(f"{name}: {message}" if name else message)
    return cls(message)


def error_of_status(status: int, message: str) -> errors.TradewindError:
    """The error an answer without the class header stands for (an older server, FastAPI's
    own validation errors, a proxy)."""
    cls = _STATUS_FALLBACK.get(status, errors.ExecutionAPIError)
    return cls(f"{message} (HTTP {status})")


_STATUS_FALLBACK: dict[int, type[errors.TradewindError]] = {
    400: errors.InvalidInput,
    401: errors.AuthenticationFailed,
    403: errors.PermissionDenied,
    404: errors.NotFound,
    409: errors.TaskInstanceMoved,
    422: errors.InvalidInput,
}


# -- clients generated from the table ----------------------------------------------------------
Invoke = Callable[[Any, Method, int, str, list[Any]], Any]


def _client_method(spec: Method) -> Callable[..., Any]:
    def method(self: Any, ti_id: int, token: str, *args: Any, **kwargs: Any) -> Any:
        return self._invoke(spec, ti_id, token, spec.bind(args, kwargs))

    method.__name__ = method.__qualname__ = spec.call_name
    method.__doc__ = spec.doc or f"The execution API's ``{spec.name}``."
    return method


class GeneratedClient:
    """Base of the classes :func:`generated_client` fills. Their methods are added from
    :data:`METHODS` when the class is made, which a type checker cannot follow: it sees them
    through ``__getattr__`` (declared for it only), so a client is an ``ExecutionAPI``."""

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any: ...


def generated_client(*, worker_only: bool = False) -> Callable[[type[Any]], type[Any]]:
    """Class decorator: one method per entry of :data:`METHODS`, each calling
    ``self._invoke(method, ti_id, token, values)``. Methods the class defines itself stay."""

    def decorate(cls: type[Any]) -> type[Any]:
        for spec in METHODS.values():
            if worker_only and not spec.worker:
                continue
            if spec.call_name not in cls.__dict__:
                setattr(cls, spec.call_name, _client_method(spec))
        return cls

    return decorate


def call_service(service: Any, spec: Method, ti_id: int, token: str, values: Sequence[Any]) -> Any:
    """Run one call on the server side (an ``ExecutionService``)."""
    return getattr(service, spec.call_name)(ti_id, token, *values)


def _json_copy(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str)) if value is not None else None


@generated_client()
class InProcessClient(GeneratedClient):
    """The in-process transport (``dags test``, the inline executor, tests): the same calls,
    copied through JSON as on the wire, with the errors the other transports deliver."""

    def __init__(self, service: Any):
        self.service = service

    def _invoke(self, spec: Method, ti_id: int, token: str, values: list[Any]) -> Any:
        try:
            answer = call_service(self.service, spec, ti_id, token, _json_copy(values))
        except errors.TradewindError:
            raise
        except ValueError as exc:
            raise decode_error(encode_error(exc)) from exc
        return _json_copy(answer)
