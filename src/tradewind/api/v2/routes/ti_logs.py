"""A task instance's tries and their logs."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.api.v2 import convert
from tradewind.api.v2 import schemas as s
from tradewind.api.v2.routes.task_instances import TI_PATH
from tradewind.core.log_files import log_path
from tradewind.core.masking import redact
from tradewind.core.permissions import Action, Resource
from tradewind.errors import NotFound
from tradewind.services.task_instance_service import TaskInstanceService
from tradewind.services.task_logs import read_log_lines

router = APIRouter(tags=["Task Instance"])

ReadTi = Annotated[CurrentUser, permission(Resource.TASK_INSTANCE, Action.READ)]
ReadLog = Annotated[CurrentUser, permission(Resource.TASK_LOG, Action.READ)]


def _tries(
    env: Any, dag_id: str, run_id: str, task_id: str, map_index: int
) -> list[s.TaskInstanceHistoryResponse]:
    """Every try of a task instance: the finished ones, then the current one."""
    ti, history, version, name = TaskInstanceService(env).tries(dag_id, run_id, task_id, map_index)
    out = [
        convert.history_response(h, name, version) for h in history if h.try_number != ti.try_number
    ]
    if ti.try_number > 0:
        out.append(convert.history_response(ti, name, version, current=True))
    return out


@router.get(TI_PATH + "/{task_id}/tries", response_model=s.TaskInstanceHistoryCollectionResponse)
def get_task_instance_tries(
    dag_id: str, dag_run_id: str, task_id: str, env: EnvDep, _user: ReadTi, map_index: int = -1
) -> s.TaskInstanceHistoryCollectionResponse:
    """All tries of a task instance, the current one included."""
    tries = _tries(env, dag_id, dag_run_id, task_id, map_index)
    return s.TaskInstanceHistoryCollectionResponse(task_instances=tries, total_entries=len(tries))


@router.get(
    TI_PATH + "/{task_id}/tries/{task_try_number}", response_model=s.TaskInstanceHistoryResponse
)
def get_task_instance_try_details(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    task_try_number: int,
    env: EnvDep,
    _user: ReadTi,
    map_index: int = -1,
) -> s.TaskInstanceHistoryResponse:
    """One try of a task instance."""
    for item in _tries(env, dag_id, dag_run_id, task_id, map_index):
        if item.try_number == task_try_number:
            return item
    raise NotFound(
        f"The Task Instance with dag_id: `{dag_id}`, run_id: `{dag_run_id}`, task_id: "
        f"`{task_id}`, try_number: `{task_try_number}` and map_index: `{map_index}` was not found"
    )


def _line(item: dict[str, Any]) -> s.StructuredLogMessage:
    """A log line as the API model; a malformed timestamp is dropped, not a 500."""
    item = {**item, "event": redact(str(item.get("event", "")))}
    try:
        return s.StructuredLogMessage.model_validate(item)
    except ValidationError:
        item["timestamp"] = None
        return s.StructuredLogMessage.model_validate(item)


def _as_text(lines: list[dict[str, Any]]) -> str:
    out = []
    for item in lines:
        stamp = item.get("timestamp") or ""
        level = str(item.get("level") or "info").upper()
        out.append(f"[{stamp}] {level} - {redact(str(item.get('event', '')))}")
    return "\n".join(out) + ("\n" if out else "")


@router.get(
    TI_PATH + "/{task_id}/logs/{try_number}",
    response_model=s.TaskInstancesLogResponse,
    responses={200: {"content": {"text/plain": {}, "application/x-ndjson": {}}}},
)
def get_log(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    try_number: int,
    env: EnvDep,
    _user: ReadLog,
    full_content: bool = False,
    map_index: int = -1,
    token: str | None = None,
    accept: Annotated[str, Header()] = "application/json",
) -> Response:
    """The log of one try: structured lines (JSON), plain text, or NDJSON, by ``Accept``."""
    ti, _run = TaskInstanceService(env).with_run(dag_id, dag_run_id, task_id, map_index)
    if try_number < 1 or try_number > max(ti.try_number, 1):
        raise NotFound(f"Task instance {task_id!r} has no try number {try_number}")
    path = log_path(env.settings.log_folder, dag_id, dag_run_id, task_id, try_number, map_index)
    lines = read_log_lines(path)
    if not lines and not path.exists():
        lines = [
            {
                "event": f"*** No log file for try {try_number} at {path.name} (yet)",
                "level": "info",
                "timestamp": None,
            }
        ]
    if "text/plain" in accept:
        return PlainTextResponse(_as_text(lines))
    if "application/x-ndjson" in accept:
        body = "".join(json.dumps(_line(i).model_dump(mode="json")) + "\n" for i in lines)
        return Response(body, media_type="application/x-ndjson")
    payload = s.TaskInstancesLogResponse(content=[_line(i) for i in lines], continuation_token=None)
    return JSONResponse(payload.model_dump(mode="json"))
