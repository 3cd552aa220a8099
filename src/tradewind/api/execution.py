"""The execution API over HTTP: ``POST /execution/task-instances/{ti_id}/<method>``.

Remote (Celery) workers reach the metastore only through these calls, authorised by the
task-scoped token of the try they run (``Authorization: Bearer <token>``). Each route hands its
JSON body to :class:`~tradewind.services.execution.ExecutionService`, which checks the token
and applies every state change as a compare-and-set.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from fastapi import APIRouter, Header, HTTPException, Request
from pydantic import BaseModel, Field

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
from tradewind.services.tokens import verify_ti_token
from tradewind.worker.logs import log_path

router = APIRouter(prefix="/execution", tags=["Execution"])
MAX_LOG_BYTES = 20 * 1024 * 1024
T = TypeVar("T")


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


def _service(request: Request) -> ExecutionService:
    """One ExecutionService per app, built on first use from ``app.state.env``."""
    state = request.app.state
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


def _answer(fn: Callable[[], T]) -> T:
    """Run a service call, turning the error tree into HTTP statuses."""
    try:
        return fn()
    except Exception as exc:
        for cls, status in _STATUS:
            if isinstance(exc, cls):
                raise HTTPException(status, str(exc)) from None
        raise


Auth = Header(default=None)


# Where each claimed task instance's logs go, so a log upload needs no query (an identity
# never changes; a miss, e.g. on another webserver process, falls back to the metastore).
_KEYS: dict[int, TaskInstanceKey] = {}
_MAX_KEYS = 20_000


@router.post("/task-instances/{ti_id}/claim")
def claim(
    ti_id: int, body: ClaimBody, request: Request, authorization: str | None = Auth
) -> dict[str, Any]:
    token = _token(authorization)
    answer = _answer(lambda: _service(request).claim(ti_id, token, body.hostname, body.pid))
    ti = answer["ti"]
    if len(_KEYS) >= _MAX_KEYS:
        _KEYS.clear()
    _KEYS[ti_id] = TaskInstanceKey(ti["dag_id"], ti["run_id"], ti["task_id"], ti["map_index"])
    return answer


@router.post("/task-instances/{ti_id}/heartbeat")
def heartbeat(
    ti_id: int, body: HeartbeatBody, request: Request, authorization: str | None = Auth
) -> dict[str, Any]:
    token = _token(authorization)
    return _answer(lambda: _service(request).heartbeat(ti_id, token, body.pid))


@router.post("/task-instances/{ti_id}/xcom_get")
def xcom_get(
    ti_id: int, body: XComGetBody, request: Request, authorization: str | None = Auth
) -> dict[str, Any]:
    token = _token(authorization)
    return _answer(
        lambda: _service(request).xcom_get(
            ti_id, token, body.dag_id, body.run_id, body.task_id, body.key, body.map_index
        )
    )


@router.post("/task-instances/{ti_id}/xcom_set")
def xcom_set(
    ti_id: int, body: XComSetBody, request: Request, authorization: str | None = Auth
) -> None:
    token = _token(authorization)
    _answer(lambda: _service(request).xcom_set(ti_id, token, body.key, body.value))


@router.post("/task-instances/{ti_id}/get_variable")
def get_variable(
    ti_id: int, body: VariableBody, request: Request, authorization: str | None = Auth
) -> dict[str, Any]:
    token = _token(authorization)
    return _answer(lambda: _service(request).get_variable(ti_id, token, body.key))


@router.post("/task-instances/{ti_id}/get_connection")
def get_connection(
    ti_id: int, body: ConnectionBody, request: Request, authorization: str | None = Auth
) -> dict[str, Any]:
    token = _token(authorization)
    return _answer(lambda: _service(request).get_connection(ti_id, token, body.conn_id))


@router.post("/task-instances/{ti_id}/skip_tasks")
def skip_tasks(
    ti_id: int, body: SkipBody, request: Request, authorization: str | None = Auth
) -> None:
    token = _token(authorization)
    _answer(lambda: _service(request).skip_tasks(ti_id, token, body.task_ids))


@router.post("/task-instances/{ti_id}/finish")
def finish(
    ti_id: int, body: FinishBody, request: Request, authorization: str | None = Auth
) -> dict[str, Any]:
    token = _token(authorization)
    return _answer(
        lambda: _service(request).finish(
            ti_id, token, body.outcome, body.error, body.rendered_fields
        )
    )


@router.post("/task-instances/{ti_id}/defer")
def defer(
    ti_id: int, body: DeferBody, request: Request, authorization: str | None = Auth
) -> dict[str, Any]:
    token = _token(authorization)
    return _answer(lambda: _service(request).defer(ti_id, token, body.trigger))


@router.post("/task-instances/{ti_id}/reschedule")
def reschedule(
    ti_id: int, body: RescheduleBody, request: Request, authorization: str | None = Auth
) -> dict[str, Any]:
    token = _token(authorization)
    return _answer(lambda: _service(request).reschedule(ti_id, token, body.reschedule_date))


@router.post("/task-instances/{ti_id}/trigger_dag_run")
def trigger_dag_run(
    ti_id: int, body: TriggerRunBody, request: Request, authorization: str | None = Auth
) -> dict[str, Any]:
    token = _token(authorization)
    return _answer(
        lambda: _service(request).trigger_dag_run(
            ti_id, token, body.dag_id, body.run_id, body.conf, body.logical_date, body.reset_dag_run
        )
    )


@router.post("/task-instances/{ti_id}/get_dag_run_state")
def get_dag_run_state(
    ti_id: int, body: RunStateBody, request: Request, authorization: str | None = Auth
) -> dict[str, Any]:
    token = _token(authorization)
    return _answer(
        lambda: _service(request).get_dag_run_state(ti_id, token, body.dag_id, body.run_id)
    )


@router.post("/task-instances/{ti_id}/get_task_states")
def get_task_states(
    ti_id: int, body: TaskStatesBody, request: Request, authorization: str | None = Auth
) -> dict[str, Any]:
    token = _token(authorization)
    return _answer(
        lambda: _service(request).get_task_states(
            ti_id, token, body.dag_id, body.run_id, body.logical_date, body.task_ids
        )
    )


@router.post("/task-instances/{ti_id}/logs")
def upload_log(
    ti_id: int, body: LogBody, request: Request, authorization: str | None = Auth
) -> dict[str, Any]:
    """Store the log of the token's try in this node's log folder (replacing an older copy)."""
    token = _token(authorization)
    env: Env = request.app.state.env

    def store() -> dict[str, Any]:
        try_number = verify_ti_token(env.secret_key, token, ti_id)
        key = _KEYS.get(ti_id)
        if key is None:
            with env.db.session(readonly=True) as s:
                key = task_instance_key(s, ti_id)
        path = log_path(
            env.settings.log_folder, key.dag_id, key.run_id, key.task_id, try_number, key.map_index
        )
        _write_atomically(path, body.text)
        return {"path": str(path), "bytes": len(body.text.encode())}

    return _answer(store)


@router.post("/task-instances/{ti_id}/verify")
def verify(ti_id: int, request: Request, authorization: str | None = Auth) -> dict[str, Any]:
    """Check a token (DAG callbacks carry one for their negative id); 401 when it is not valid."""
    token = _token(authorization)
    env: Env = request.app.state.env
    try_number = _answer(lambda: verify_ti_token(env.secret_key, token, ti_id))
    return {"valid": True, "try_number": try_number}


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
