"""The local executor's transport: execution-API calls as JSON over a socket pair."""

from __future__ import annotations

import json
from multiprocessing.connection import Connection
from typing import Any

from tradewind import errors

_ERRORS: dict[str, type[Exception]] = {
    "TaskInstanceMoved": errors.TaskInstanceMoved,
    "NotFound": errors.NotFound,
    "AuthenticationFailed": errors.AuthenticationFailed,
    "InvalidInput": errors.InvalidInput,
    "ConfigError": errors.ConfigError,
    "AlreadyExists": errors.AlreadyExists,
    "ParamValidationError": errors.ParamValidationError,
}


def send(conn: Connection, message: dict[str, Any]) -> None:
    conn.send_bytes(json.dumps(message, separators=(",", ":"), default=str).encode())


def recv(conn: Connection) -> dict[str, Any]:
    return json.loads(conn.recv_bytes())


def error_reply(exc: Exception) -> dict[str, Any]:
    return {"error": {"type": type(exc).__name__, "message": str(exc)}}


def raise_error(info: dict[str, Any]) -> None:
    cls = _ERRORS.get(info["type"], errors.ExecutionAPIError)
    raise cls(info["message"])


class PipeClient:
    """ExecutionAPI over a pipe to the executor's parent, which applies the calls."""

    def __init__(self, conn: Connection):
        self._conn = conn
        self._seq = 0

    def _call(self, method: str, *args: Any) -> Any:
        # Each request carries an id that the reply echoes: a reply left in the socket by an
        # earlier try that was killed mid-call is recognised and dropped, never misread.
        import os

        self._seq += 1
        rid = f"{os.getpid()}:{self._seq}"
        send(self._conn, {"op": "call", "id": rid, "method": method, "args": list(args)})
        while True:
            reply = recv(self._conn)
            if reply.get("id") == rid:
                break
        if "error" in reply:
            raise_error(reply["error"])
        return reply.get("result")

    def claim(self, ti_id: int, token: str, hostname: str, pid: int) -> Any:
        return self._call("claim", ti_id, token, hostname, pid)

    def heartbeat(self, ti_id: int, token: str, pid: int) -> Any:
        return self._call("heartbeat", ti_id, token, pid)

    def xcom_get(
        self,
        ti_id: int,
        token: str,
        dag_id: str,
        run_id: str,
        task_id: str,
        key: str,
        map_index: int,
    ) -> Any:
        return self._call("xcom_get", ti_id, token, dag_id, run_id, task_id, key, map_index)

    def xcom_set(self, ti_id: int, token: str, key: str, value: Any) -> None:
        self._call("xcom_set", ti_id, token, key, value)

    def get_variable(self, ti_id: int, token: str, key: str) -> Any:
        return self._call("get_variable", ti_id, token, key)

    def get_connection(self, ti_id: int, token: str, conn_id: str) -> Any:
        return self._call("get_connection", ti_id, token, conn_id)

    def skip_tasks(self, ti_id: int, token: str, task_ids: list[str]) -> None:
        self._call("skip_tasks", ti_id, token, task_ids)

    def finish(
        self, ti_id: int, token: str, outcome: str, error: str | None, rendered_fields: Any
    ) -> Any:
        return self._call("finish", ti_id, token, outcome, error, rendered_fields)

    def defer(self, ti_id: int, token: str, trigger: dict[str, Any]) -> Any:
        return self._call("defer", ti_id, token, trigger)

    def reschedule(self, ti_id: int, token: str, reschedule_date: str) -> Any:
        return self._call("reschedule", ti_id, token, reschedule_date)


ALLOWED_METHODS = frozenset(
    {
        "claim",
        "heartbeat",
        "xcom_get",
        "xcom_set",
        "get_variable",
        "get_connection",
        "skip_tasks",
        "finish",
        "defer",
        "reschedule",
        # extensions served by services/execution_ext.py (TriggerDagRunOperator, ExternalTaskSensor)
        "trigger_dag_run",
        "get_dag_run_state",
        "get_task_states",
    }
)
