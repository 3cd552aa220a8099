"""``/variables``: CRUD; values of secret-looking keys come back as ``***``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response

from tradewind.api.deps import CurrentUser, EnvDep, UserDep, permission
from tradewind.api.v2 import schemas as s
from tradewind.api.v2.bulk import BulkTarget, check_bulk_permissions, run_bulk
from tradewind.api.v2.params import Limit, Offset, OrderBy, UpdateMask, check_mask
from tradewind.api.v2.schemas_bulk import BulkBody, BulkResponse
from tradewind.core.permissions import Action, Resource
from tradewind.errors import InvalidInput, NotFound
from tradewind.services import queries as q
from tradewind.services import variables as var_service
from tradewind.services.bulk import BulkService
from tradewind.services.variables import VariableService, VariableView

router = APIRouter(tags=["Variable"])

ReadVar = Annotated[CurrentUser, permission(Resource.VARIABLE, Action.READ)]
CreateVar = Annotated[CurrentUser, permission(Resource.VARIABLE, Action.CREATE)]
EditVar = Annotated[CurrentUser, permission(Resource.VARIABLE, Action.EDIT)]
DeleteVar = Annotated[CurrentUser, permission(Resource.VARIABLE, Action.DELETE)]


def variable_response(view: VariableView) -> s.VariableResponse:
    """A stored variable as the service shows it (decrypted, masked when its key looks secret)."""
    return s.VariableResponse(
        key=view.key,
        value=view.value,
        description=view.description,
        is_encrypted=view.is_encrypted,
        team_name=None,
    )


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
    views, total = VariableService(env).page(
        paging, variable_key_pattern, variable_key_prefix_pattern
    )
    items = [variable_response(view) for view in views]
    return s.VariableCollectionResponse(variables=items, total_entries=total)


@router.get("/variables/{variable_key}", response_model=s.VariableResponse)
def get_variable(variable_key: str, env: EnvDep, _user: ReadVar) -> s.VariableResponse:
    """One variable."""
    return variable_response(VariableService(env).get(variable_key))


@router.post("/variables", status_code=201, response_model=s.VariableResponse)
def post_variable(body: s.VariableBody, env: EnvDep, user: CreateVar) -> s.VariableResponse:
    """Create a variable (409 if the key exists); JSON values are stored serialized."""
    view = VariableService(env).create(
        body.key, body.value, description=body.description, user=user.username
    )
    return variable_response(view)


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
    changes = {name: getattr(body, name) for name in fields}
    return variable_response(
        VariableService(env).update(variable_key, **changes, user=user.username)
    )


@router.delete("/variables/{variable_key}", status_code=204)
def delete_variable(variable_key: str, env: EnvDep, user: DeleteVar) -> Response:
    """Delete a variable."""
    VariableService(env).delete(variable_key, user=user.username)
    return Response(status_code=204)


def _row(session: Any, key: str) -> Any:
    row = q.variable_row(session, key)
    if row is None:
        raise NotFound(f"The Variable with key: `{key}` was not found")
    return row


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
    return BulkService(env).apply(
        lambda session: run_bulk(session, body, _variable_target(env)),
        event="variable_bulk",
        user=user.username,
        extra=lambda result: result.model_dump(exclude_none=True),
    )
