"""What pages change: trigger, pause, delete, clear, mark. Each checks CSRF and the role."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from tradewind.core.permissions import Action, Resource
from tradewind.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    ParamValidationError,
    PermissionDenied,
)
from tradewind.services.dags import DagService
from tradewind.services.run_service import RunService
from tradewind.services.task_instance_service import TaskInstanceService
from tradewind.ui.auth import check_csrf, env_of, require, safe_next
from tradewind.ui.pages_dag_views import param_fields
from tradewind.ui.pages_dags import dag_or_404
from tradewind.ui.rendering import render

router = APIRouter(include_in_schema=False)
_STATUS = {
    NotFound: 404,
    AlreadyExists: 409,
    Conflict: 409,
    InvalidInput: 422,
    ParamValidationError: 422,
}


@contextmanager
def as_http() -> Iterator[None]:
    """Turn a service's error into the HTTP status a user should see."""
    try:
        yield
    except PermissionDenied as exc:
        raise HTTPException(403, str(exc)) from None
    except tuple(_STATUS) as exc:
        raise HTTPException(_STATUS[type(exc)], str(exc)) from None


def _flag(form: Any, name: str) -> bool:
    return str(form.get(name, "")).lower() in ("1", "true", "on", "yes")


def _map_index(form: Any) -> int:
    """The form's map index (an instance of a mapped task), -1 when none or not a number."""
    try:
        return int(str(form.get("map_index", "-1")))
    except ValueError:
        return -1


def _back(form: Any, default: str) -> RedirectResponse:
    return RedirectResponse(safe_next(str(form.get("next") or default)), status_code=303)


def _grid_url(dag_id: str, run_id: str = "", task_id: str = "") -> str:
    query = urlencode({"run_id": run_id, "task_id": task_id}) if run_id and task_id else ""
    return f"/dags/{dag_id}/grid" + (f"?{query}" if query else "")


def conf_from_form(form: Any, fields: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's conf: the JSON text area, overridden by the param fields."""
    try:
        conf = json.loads(str(form.get("conf") or "{}"))
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"conf is not valid JSON: {exc}") from None
    if not isinstance(conf, dict):
        raise InvalidInput("conf must be a JSON object")
    for field in fields:
        key = f"param.{field['name']}"
        if field["widget"] == "boolean":
            conf[field["name"]] = _flag(form, key)
            continue
        raw = form.get(key)
        if raw is None or (raw == "" and field["value"] is None):
            continue
        raw = str(raw)
        try:
            if field["widget"] == "integer":
                conf[field["name"]] = int(raw)
            elif field["widget"] == "number":
                conf[field["name"]] = float(raw)
            elif field["widget"] == "json":
                conf[field["name"]] = json.loads(raw)
            else:
                conf[field["name"]] = raw
        except ValueError as exc:
            raise InvalidInput(f"param {field['name']!r}: {exc}") from None
    return conf


@router.post("/dags/{dag_id}/trigger", response_model=None)
async def trigger(request: Request, dag_id: str) -> Response:
    """Trigger a run with the form's params and conf."""
    await check_csrf(request, env_of(request))
    user = require(request, Resource.DAG_RUN, Action.CREATE)
    env = env_of(request)
    form = await request.form()
    dag, sdag = dag_or_404(env, dag_id)
    fields = param_fields(sdag)
    try:
        conf = conf_from_form(form, fields)
        run, _ = RunService(env).trigger(
            dag_id,
            conf=conf,
            run_id=str(form.get("run_id") or "") or None,
            user=user.username,
            triggered_by="ui",
            note=str(form.get("note") or "") or None,
        )
        run_id = run.run_id
    except (InvalidInput, ParamValidationError, AlreadyExists) as exc:
        return render(
            request,
            "trigger.html",
            user,
            status_code=409 if isinstance(exc, AlreadyExists) else 422,
            dag=dag,
            sdag=sdag,
            fields=fields,
            conf_text=str(form.get("conf") or "{}"),
            error=str(exc),
            tab="trigger",
            title=f"Trigger {dag_id}",
        )
    return RedirectResponse(
        f"/dags/{dag_id}/grid?" + urlencode({"run_id": run_id}), status_code=303
    )


@router.post("/dags/{dag_id}/pause")
async def pause(request: Request, dag_id: str) -> RedirectResponse:
    """Pause (``paused=true``) or unpause a DAG."""
    env = env_of(request)
    await check_csrf(request, env)
    user = require(request, Resource.DAG, Action.EDIT)
    form = await request.form()
    with as_http():
        DagService(env).set_paused(dag_id, _flag(form, "paused"), user=user.username)
    return _back(form, "/dags")


@router.post("/dags/{dag_id}/delete")
async def delete(request: Request, dag_id: str) -> RedirectResponse:
    """Delete a DAG and its history (it comes back at the next parse if its file remains)."""
    env = env_of(request)
    await check_csrf(request, env)
    user = require(request, Resource.DAG, Action.DELETE)
    with as_http():
        DagService(env).delete(dag_id, user=user.username)
    return RedirectResponse("/dags", status_code=303)


@router.post("/dags/{dag_id}/clear")
async def clear(request: Request, dag_id: str) -> RedirectResponse:
    """Clear a task instance (and optionally its downstream/upstream) so it runs again."""
    env = env_of(request)
    await check_csrf(request, env)
    user = require(request, Resource.TASK_INSTANCE, Action.EDIT)
    form = await request.form()
    run_id, task_id = str(form.get("run_id", "")), str(form.get("task_id", ""))
    map_index = _map_index(form)
    with as_http():
        TaskInstanceService(env).clear(
            dag_id,
            run_id=run_id,
            task_ids=[task_id] if task_id else None,
            map_indexes=[map_index] if map_index >= 0 else None,
            downstream=_flag(form, "downstream"),
            upstream=_flag(form, "upstream"),
            only_failed=_flag(form, "only_failed"),
            user=user.username,
        )
    return _back(form, _grid_url(dag_id, run_id, task_id))


@router.post("/dags/{dag_id}/mark")
async def mark(request: Request, dag_id: str) -> RedirectResponse:
    """Mark a task instance success or failed (audited), optionally with its relatives."""
    env = env_of(request)
    await check_csrf(request, env)
    user = require(request, Resource.TASK_INSTANCE, Action.EDIT)
    form = await request.form()
    run_id, task_id, state = (
        str(form.get("run_id", "")),
        str(form.get("task_id", "")),
        str(form.get("state", "")),
    )
    if state not in ("success", "failed"):
        raise HTTPException(422, "state must be success or failed")
    with as_http():
        TaskInstanceService(env).mark(
            dag_id,
            run_id,
            task_id,
            state,
            user=user.username,
            downstream=_flag(form, "downstream"),
            upstream=_flag(form, "upstream"),
            map_index=_map_index(form),
        )
    return _back(form, _grid_url(dag_id, run_id, task_id))


@router.post("/dags/{dag_id}/run/mark")
async def mark_run(request: Request, dag_id: str) -> RedirectResponse:
    """Mark a whole run success or failed, or ``queued`` to run it again."""
    env = env_of(request)
    await check_csrf(request, env)
    user = require(request, Resource.DAG_RUN, Action.EDIT)
    form = await request.form()
    run_id, state = str(form.get("run_id", "")), str(form.get("state", ""))
    if state not in ("success", "failed", "queued"):
        raise HTTPException(422, "state must be success, failed or queued")
    with as_http():
        TaskInstanceService(env).mark_run(dag_id, run_id, state, user=user.username)
    return _back(form, f"/dags/{dag_id}/run?" + urlencode({"run_id": run_id}))
