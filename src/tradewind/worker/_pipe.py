"""The local executor's transport: execution-API calls as JSON over a socket pair.

The client's methods and the allow-list come from the method table
(``core/execution_api.py``); errors travel as their class name, decoded by the same codec as
over HTTP, so a worker catches the class the service raised.
"""

from __future__ import annotations

import json
import logging
import os
from multiprocessing.connection import Connection
from typing import Any

from tradewind.core.execution_api import (
    BY_CALL_NAME,
    WORKER_METHODS,
    GeneratedClient,
    Method,
    call_service,
    decode_error,
    encode_error,
    generated_client,
)
from tradewind.errors import ExecutionAPIError, TradewindError

log = logging.getLogger("tradewind.executor")
#: The calls a task process may make through the pipe (the runner's protocol, no HTTP-only ones).
ALLOWED_METHODS = WORKER_METHODS


def send(conn: Connection, message: dict[str, Any]) -> None:
    conn.send_bytes(json.dumps(message, separators=(",", ":"), default=str).encode())


def recv(conn: Connection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(conn.recv_bytes())
    return message


def error_reply(exc: BaseException) -> dict[str, Any]:
    return {"error": encode_error(exc)}


def raise_error(info: dict[str, Any]) -> None:
    raise decode_error(info)


def serve_call(target: Any, msg: dict[str, Any]) -> dict[str, Any]:
    """Answer one call message on ``target`` (the service, or an HTTP client forwarding it):
    ``{"result": ...}`` or ``{"error": {...}}``, with the request's id."""
    method = msg.get("method")
    args = msg.get("args") or []
    spec: Method | None = BY_CALL_NAME.get(method) if method in ALLOWED_METHODS else None
    if spec is None or len(args) < 2:
        reply: dict[str, Any] = {
            "error": {"type": "ExecutionAPIError", "message": f"unknown call {method!r}"}
        }
    else:
        try:
            values = spec.bind(args[2:], {})
            reply = {"result": call_service(target, spec, int(args[0]), str(args[1]), values)}
        except (TradewindError, ValueError) as exc:
            reply = error_reply(exc)
        except Exception as exc:  # noqa: BLE001 - never let a task's call kill the server
            log.exception("execution API call %s failed", method)
            reply = error_reply(exc)
    reply["id"] = msg.get("id")
    return reply


@generated_client(worker_only=True)
class PipeClient(GeneratedClient):
    """ExecutionAPI over a pipe to the executor's parent, which applies the calls."""

    def __init__(self, conn: Connection):
        self._conn = conn
        self._seq = 0

    def _invoke(self, spec: Method, ti_id: int, token: str, values: list[Any]) -> Any:
        return self._call(spec.call_name, ti_id, token, *values)

    def _call(self, method: str, *args: Any) -> Any:
        # Each request carries an id that the reply echoes: a reply left in the socket by an
        # earlier try that was killed mid-call is recognised and dropped, never misread.
        self._seq += 1
        rid = f"{os.getpid()}:{self._seq}"
        try:
            send(self._conn, {"op": "call", "id": rid, "method": method, "args": list(args)})
            while True:
                reply = recv(self._conn)
                if reply.get("id") == rid:
                    break
        except (EOFError, OSError, ValueError) as exc:  # the parent went away mid-call
            raise ExecutionAPIError(
                f"the execution API pipe closed during {method}: {type(exc).__name__} {exc}"
            ) from None
        if "error" in reply:
            raise_error(reply["error"])
        return reply.get("result")
