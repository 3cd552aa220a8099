"""``/connections/enqueue-test``: Airflow 3.3's asynchronous connection test.

Airflow hands the test to a worker and the caller polls with the returned token. Tradewind
runs the test at once in the web server (as ``POST /connections/test`` does) and keeps the
outcome under the token for the poll. Both answer 403 unless ``[core] test_connection`` is
``Enabled`` (off by default, as in Airflow).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from pydantic import AwareDatetime, Field

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.api.v2.schemas import BaseSchema, StrictBaseSchema
from tradewind.core.permissions import Action, Resource
from tradewind.errors import NotFound, PermissionDenied
from tradewind.services.connection_service import ConnectionService

router = APIRouter(tags=["Connection"])

ReadConn = Annotated[CurrentUser, permission(Resource.CONNECTION, Action.READ)]
CreateConn = Annotated[CurrentUser, permission(Resource.CONNECTION, Action.CREATE)]


class ConnectionTestRequestBody(StrictBaseSchema):
    """A connection to test, and whether to save it when the test succeeds."""

    connection_id: str = Field(max_length=200, pattern=r"^[\w.-]+$")
    conn_type: str
    description: str | None = None
    host: str | None = None
    login: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    port: int | None = None
    password: str | None = None
    extra: str | None = None
    team_name: str | None = Field(default=None, max_length=50)
    commit_on_success: bool = False
    executor: str | None = None
    queue: str | None = None


class ConnectionTestQueuedResponse(BaseSchema):
    """The token to poll with."""

    token: str
    connection_id: str
    state: str


class AsyncConnectionTestResponse(BaseSchema):
    """The outcome of a connection test."""

    token: str
    connection_id: str
    state: str
    result_message: str | None = None
    created_at: AwareDatetime


def _check_enabled(env: Any) -> None:
    setting = str(env.settings.values.get("core", {}).get("test_connection", "Disabled"))
    if setting.lower() != "enabled":
        raise PermissionDenied(
            "Testing connections is disabled in Tradewind configuration. Set [core] "
            'test_connection = "Enabled" to enable it.'
        )


@router.post(
    "/connections/enqueue-test", status_code=202, response_model=ConnectionTestQueuedResponse
)
def enqueue_connection_test(
    body: ConnectionTestRequestBody, env: EnvDep, _user: CreateConn
) -> ConnectionTestQueuedResponse:
    """Test a connection; the token returned reads the outcome (202)."""
    _check_enabled(env)
    data = {
        "conn_id": body.connection_id, "conn_type": body.conn_type,
        "description": body.description, "host": body.host, "login": body.login,
        "schema": body.schema_, "port": body.port, "password": body.password, "extra": body.extra,
    }  # fmt: skip
    token, state = ConnectionService(env).enqueue_test(data, save=body.commit_on_success)
    return ConnectionTestQueuedResponse(token=token, connection_id=body.connection_id, state=state)


@router.get("/connections/enqueue-test", response_model=AsyncConnectionTestResponse)
def get_connection_test(
    env: EnvDep,
    _user: ReadConn,
    airflow_connection_test_token: Annotated[str, Header(alias="Airflow-Connection-Test-Token")],
) -> AsyncConnectionTestResponse:
    """The outcome of the test of that token (404 unknown token)."""
    _check_enabled(env)
    outcome = ConnectionService(env).test_outcome(airflow_connection_test_token)
    if outcome is None:
        raise NotFound("No connection test with this token was found")
    return AsyncConnectionTestResponse(token=airflow_connection_test_token, **outcome)
