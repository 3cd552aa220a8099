"""``/variables``: CRUD; values of secret-looking keys come back as ``***``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from tradewind.api.deps import EnvDep, UserDep, allowed
from tradewind.api.v2 import schemas as s
from tradewind.api.v2.bulk import BulkTarget, check_bulk_permissions, run_bulk
from tradewind.api.v2.params import Limit, Offset, OrderBy, UpdateMask, check_mask
from tradewind.api.v2.schemas_bulk import BulkBody, BulkResponse
from tradewind.core.masking import is_sensitive_key
from tradewind.core.permissions import Action, Resource
from tradewind.errors import AlreadyExists, InvalidInput, NotFound
from tradewind.services import queries as q
from tradewind.services import variables as var_service
from tradewind.services.event_log import log_event

router = APIRouter(tags=["Variable"])

ReadVar = allowed(Resource.VARIABLE, Action.READ)
CreateVar = allowed(Resource.VARIABLE, Action.CREATE)
EditVar = allowed(Resource.VARIABLE, Action.EDIT)
DeleteVar = allowed(Resource.VARIABLE, Action.DELETE)

MASK = "***"


def variable_response(env: Any, row: Any) -> s.VariableResponse:
    """A stored variable, decrypted, masked when its key looks secret."""
    value = row.val
    if value is not None and row.is_encrypted:
        value = var_service.decrypt(env, value)
    if value is not None and is_sensitive_key(row.key):
        value = MASK
    return s.VariableResponse(
        key=row.key,
        value=value,
        description=row.description,
        is_encrypted=bool(row.is_encrypted),
        team_name=None,
    )


def _row(session: Any, key: str) -> Any:
    row = q.variable_row(session, key)
    if row is None:
        raise NotFound(f"The Variable with key: `{key}` was not found")
    return row


@router.get("/variables", response_model=s.VariableCollectionResponse)
def get_variables(
    env: EnvDep,
    _user: ReadVar,
    limit: Limit = 50,
    offset: Offset = 0,
    order_by: OrderBy = None,
    variable_key_pattern: str | None = None,
    variable_key_prefix_pattern: str | None = None,
) -> s.VariableCollectionResponse:
    """Variables stored in the metastore, paged."""
    paging = q.Paging(limit, offset, tuple(order_by or ("id",)))
    with env.db.session(readonly=True) as session:
        page = q.list_variable_rows(
            session, variable_key_pattern, variable_key_prefix_pattern, paging
        )
        items = [variable_response(env, row) for row in page.items]
    return s.VariableCollectionResponse(variables=items, total_entries=page.total)


@router.get("/variables/{variable_key}", response_model=s.VariableResponse)
def get_variable(variable_key: str, env: EnvDep, _user: ReadVar) -> s.VariableResponse:
    """One variable."""
    with env.db.session(readonly=True) as session:
        return variable_response(env, _row(session, variable_key))


@router.post("/variables", status_code=201, response_model=s.VariableResponse)
def post_variable(body: s.VariableBody, env: EnvDep, user: CreateVar) -> s.VariableResponse:
    """Create a variable (409 if the key exists); JSON values are stored serialized."""
    with env.db.session() as session:
        if q.variable_row(session, body.key) is not None:
            raise AlreadyExists(f"The Variable with key: `{body.key}` already exists")
        var_service.set_variable(env, session, body.key, body.value, description=body.description)
        log_event(
            session, "variable_create", now=env.now(), owner=user.username, extra={"key": body.key}
        )
        session.flush()
        return variable_response(env, _row(session, body.key))


@router.patch("/variables/{variable_key}", response_model=s.VariableResponse)
def patch_variable(
    variable_key: str,
    body: s.VariableBody,
    env: EnvDep,
    user: EditVar,
    update_mask: UpdateMask = None,
) -> s.VariableResponse:
    """Change a variable's value and/or description."""
    if body.key != variable_key:
        raise InvalidInput("Invalid body, key from request body doesn't match uri parameter")
    fields = check_mask(update_mask, {"value", "description"}) or {"value", "description"}
    with env.db.session() as session:
        row = _row(session, variable_key)
        if "value" in fields:
            var_service.set_variable(env, session, variable_key, body.value)
        if "description" in fields:
            row.description = body.description
        log_event(
            session,
            "variable_edit",
            now=env.now(),
            owner=user.username,
            extra={"key": variable_key, "fields": sorted(fields)},
        )
        session.flush()
        return variable_response(env, row)


@router.delete("/variables/{variable_key}", status_code=204)
def delete_variable(variable_key: str, env: EnvDep, user: DeleteVar) -> Response:
    """Delete a variable."""
    with env.db.session() as session:
        _row(session, variable_key)
        var_service.delete_variable(session, variable_key)
        log_event(
            session,
            "variable_delete",
            now=env.now(),
            owner=user.username,
            extra={"key": variable_key},
        )
    return Response(status_code=204)


def _variable_target(env: Any) -> BulkTarget:
    def update(session: Any, body: s.VariableBody, fields: set[str] | None) -> None:
        fields = fields or {"value", "description"}
        if "value" in fields:
            var_service.set_variable(env, session, body.key, body.value)
        if "description" in fields:
            _row(session, body.key).description = body.description

    return BulkTarget(
        noun="variables",
        key_name="keys",
        resource=Resource.VARIABLE,
        key_of=lambda body: body.key,
        exists=lambda session, key: q.variable_row(session, key) is not None,
        create=lambda session, body: var_service.set_variable(
            env, session, body.key, body.value, description=body.description
        ),
        update=update,
        delete=var_service.delete_variable,
        check_mask=lambda mask: check_mask(mask, {"value", "description"}),
    )


@router.patch("/variables", response_model=BulkResponse)
def bulk_variables(body: BulkBody[s.VariableBody], env: EnvDep, user: UserDep) -> BulkResponse:
    """Create, update and delete variables in one request; per action, the keys done."""
    check_bulk_permissions(user, body, Resource.VARIABLE)
    with env.db.session() as session:
        result = run_bulk(session, body, _variable_target(env))
        log_event(
            session, "variable_bulk", now=env.now(), owner=user.username,
            extra=result.model_dump(exclude_none=True),
        )  # fmt: skip
    return result
