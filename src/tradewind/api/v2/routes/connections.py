"""``/connections``: CRUD; passwords never come back (``***``), nor secret keys of ``extra``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response

from tradewind.api.deps import CurrentUser, EnvDep, UserDep, permission
from tradewind.api.v2 import schemas as s
from tradewind.api.v2.bulk import BulkTarget, check_bulk_permissions, run_bulk
from tradewind.api.v2.params import Limit, Offset, OrderBy, UpdateMask, check_mask
from tradewind.api.v2.schemas_bulk import BulkBody, BulkResponse
from tradewind.core.permissions import Action, Resource
from tradewind.errors import InvalidInput, PermissionDenied
from tradewind.services import connections as conn_service
from tradewind.services import queries as q
from tradewind.services.bulk import BulkService
from tradewind.services.connection_service import ConnectionService

router = APIRouter(tags=["Connection"])

ReadConn = Annotated[CurrentUser, permission(Resource.CONNECTION, Action.READ)]
CreateConn = Annotated[CurrentUser, permission(Resource.CONNECTION, Action.CREATE)]
EditConn = Annotated[CurrentUser, permission(Resource.CONNECTION, Action.EDIT)]
DeleteConn = Annotated[CurrentUser, permission(Resource.CONNECTION, Action.DELETE)]

_FIELDS = {"conn_type", "description", "host", "login", "schema", "port", "password", "extra"}


def connection_response(shown: dict[str, Any]) -> s.ConnectionResponse:
    """A connection as the service shows it (password and secret extras masked)."""
    return s.ConnectionResponse(
        connection_id=shown["conn_id"],
        conn_type=shown["conn_type"],
        description=shown["description"],
        host=shown["host"],
        login=shown["login"],
        schema=shown["schema"],
        port=shown["port"],
        password=shown["password"] or None,
        extra=shown["extra"],
        team_name=None,
    )


def _data(body: s.ConnectionBody, fields: set[str] | None = None) -> dict[str, Any]:
    """The service's dict from a body; ``***`` (a masked password sent back) means unchanged."""
    data = {
        "conn_type": body.conn_type,
        "description": body.description,
        "host": body.host,
        "login": body.login,
        "schema": body.schema_,
        "port": body.port,
        "password": body.password,
        "extra": body.extra,
    }
    if fields is not None:
        data = {k: v for k, v in data.items() if k in fields}
    if data.get("password") == conn_service.MASK:
        data.pop("password")
    return data


@router.get("/connections", response_model=s.ConnectionCollectionResponse)
def get_connections(
    env: EnvDep,
    _user: ReadConn,
    limit: Limit = 50,
    offset: Offset = 0,
    order_by: OrderBy = None,
    connection_id_pattern: str | None = None,
    connection_id_prefix_pattern: str | None = None,
) -> s.ConnectionCollectionResponse:
    """Stored connections, paged."""
    paging = q.Paging(limit, offset, tuple(order_by or ("id",)))
    shown, total = ConnectionService(env).page(
        paging, connection_id_pattern, connection_id_prefix_pattern
    )
    items = [connection_response(item) for item in shown]
    return s.ConnectionCollectionResponse(connections=items, total_entries=total)


@router.post("/connections/test", response_model=s.ConnectionTestResponse)
def test_connection(body: s.ConnectionBody, env: EnvDep, _user: CreateConn) -> Any:
    """Try a connection, if ``[core] test_connection = "Enabled"`` (off by default, as Airflow)."""
    setting = str(env.settings.values.get("core", {}).get("test_connection", "Disabled"))
    if setting.lower() != "enabled":
        raise PermissionDenied(
            "Testing connections is disabled in Tradewind configuration. Set [core] "
            'test_connection = "Enabled" to enable it.'
        )
    ok, message = ConnectionService(env).test({"conn_id": body.connection_id, **_data(body)})
    return s.ConnectionTestResponse(status=ok, message=message)


@router.post("/connections/defaults", status_code=204)
def create_default_connections(env: EnvDep, user: CreateConn) -> Response:
    """Create Airflow's default connections whose ids are free (204, no body)."""
    ConnectionService(env).create_defaults(user=user.username)
    return Response(status_code=204)


@router.get("/connections/{connection_id}", response_model=s.ConnectionResponse)
def get_connection(connection_id: str, env: EnvDep, _user: ReadConn) -> s.ConnectionResponse:
    """One connection."""
    return connection_response(ConnectionService(env).shown(connection_id))


@router.post("/connections", status_code=201, response_model=s.ConnectionResponse)
def post_connection(body: s.ConnectionBody, env: EnvDep, user: CreateConn) -> s.ConnectionResponse:
    """Create a connection (409 if the id exists)."""
    data = {"conn_id": body.connection_id, **_data(body)}
    return connection_response(ConnectionService(env).create(data, user=user.username))


@router.patch("/connections/{connection_id}", response_model=s.ConnectionResponse)
def patch_connection(
    connection_id: str,
    body: s.ConnectionBody,
    env: EnvDep,
    user: EditConn,
    update_mask: UpdateMask = None,
) -> s.ConnectionResponse:
    """Change fields of a connection (those in ``update_mask``, else all of the body)."""
    if body.connection_id != connection_id:
        raise InvalidInput("The connection_id in the request body does not match the URL parameter")
    fields = check_mask(update_mask, _FIELDS)
    changed = ConnectionService(env).update(connection_id, _data(body, fields), user=user.username)
    return connection_response(changed)


@router.delete("/connections/{connection_id}", status_code=204)
def delete_connection(connection_id: str, env: EnvDep, user: DeleteConn) -> Response:
    """Delete a connection."""
    ConnectionService(env).delete(connection_id, user=user.username)
    return Response(status_code=204)


def _connection_target(env: Any) -> BulkTarget:
    return BulkTarget(
        noun="connections",
        key_name="connection_ids",
        resource=Resource.CONNECTION,
        key_of=lambda body: body.connection_id,
        exists=lambda session, conn_id: q.connection_row(session, conn_id) is not None,
        create=lambda session, body: conn_service.add_connection(
            env, session, {"conn_id": body.connection_id, **_data(body)}
        ),
        update=lambda session, body, fields: conn_service.update_connection(
            env, session, body.connection_id, _data(body, fields)
        ),
        delete=conn_service.delete_connection,
        check_mask=lambda mask: check_mask(mask, _FIELDS),
    )


@router.patch("/connections", response_model=BulkResponse)
def bulk_connections(body: BulkBody[s.ConnectionBody], env: EnvDep, user: UserDep) -> BulkResponse:
    """Create, update and delete connections in one request; per action, the ids done."""
    check_bulk_permissions(user, body, Resource.CONNECTION)
    return BulkService(env).apply(
        lambda session: run_bulk(session, body, _connection_target(env)),
        event="connection_bulk",
        user=user.username,
        extra=lambda result: result.model_dump(exclude_none=True),
    )
