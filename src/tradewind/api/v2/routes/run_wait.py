"""``GET .../dagRuns/{dag_run_id}/wait``: stream a run's state until it finishes.

With ``Accept: application/x-ndjson`` (or no preference) every ``interval`` seconds one line
``{"state": "running"}``, and a last line with the final state and, for the task ids of
``result``, their ``return_value`` XComs (as Airflow). With ``Accept: application/json`` (what
the official client's ``wait_dag_run_until_finished`` sends) the same stream keeps the
connection alive with blank lines and ends with the one JSON object, so the body still parses
as JSON and the client returns a dict.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.core.permissions import Action, Resource
from tradewind.errors import NotFound
from tradewind.services.run_service import RunService

router = APIRouter(tags=["experimental"])

ReadRun = Annotated[CurrentUser, permission(Resource.DAG_RUN, Action.READ)]
FINISHED = frozenset({"success", "failed"})
NDJSON = "application/x-ndjson"


def _state(env: Any, dag_id: str, run_id: str, result: list[str] | None) -> dict[str, Any]:
    try:
        state, results = RunService(env).outcome(dag_id, run_id, result or [])
    except NotFound:
        raise NotFound(
            f"The DagRun with dag_id: `{dag_id}` and run_id: `{run_id}` was not found"
        ) from None
    out: dict[str, Any] = {"state": state}
    if results is not None:
        out["results"] = results
    return out


@router.get(
    "/dags/{dag_id}/dagRuns/{dag_run_id}/wait",
    tags=["DagRun"],
    responses={
        200: {
            "description": "The run's state, streamed until it finishes.",
            "content": {NDJSON: {"schema": {"type": "string"}}, "application/json": {}},
        }
    },
    response_class=StreamingResponse,
)
def wait_dag_run_until_finished(
    dag_id: str,
    dag_run_id: str,
    env: EnvDep,
    _user: ReadRun,
    interval: Annotated[
        float, Query(gt=0, le=3600, description="Seconds to wait between state checks.")
    ],
    result: Annotated[
        list[str] | None, Query(description="Task ids whose return value to include.")
    ] = None,
    accept: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Experimental: wait for a run to finish, then its state and the tasks' results."""
    first = _state(env, dag_id, dag_run_id, result)  # 404 before the stream starts
    as_json = accept is not None and "json" in accept and NDJSON not in accept

    async def lines() -> AsyncIterator[str]:
        current = first
        while current["state"] not in FINISHED:
            yield "\n" if as_json else json.dumps(current) + "\n"
            await anyio.sleep(interval)
            current = await anyio.to_thread.run_sync(_state, env, dag_id, dag_run_id, result)
        yield json.dumps(current) + "\n"

    return StreamingResponse(lines(), media_type="application/json" if as_json else NDJSON)
