"""Admin pages: variables, connections, pools and users, each listed with create/edit/delete
forms. Every change checks the CSRF token and the role, goes through the service, and is
recorded in the event log. Secrets never travel back to the browser: a secret-looking
variable shows ``***`` and a connection's password field stays empty; submitting those
unchanged keeps what is stored."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tradewind.core.masking import is_sensitive_key
from tradewind.core.permissions import Action, Resource
from tradewind.errors import InvalidInput, TradewindError
from tradewind.services import connections as conn_service
from tradewind.services import pools as pool_service
from tradewind.services.connection_service import ConnectionService
from tradewind.services.pools import PoolService
from tradewind.services.variables import MASK, VariableService
from tradewind.ui.admin_users import router as users_router
from tradewind.ui.auth import check_csrf, env_of, require
from tradewind.ui.rendering import render

router = APIRouter(include_in_schema=False)
PAGE = 50


def back(path: str, error: str | None = None) -> RedirectResponse:
    """Back to a list page after a change, with the error (if any) to show there."""
    return RedirectResponse(path + (f"?error={quote(error)}" if error else ""), status_code=303)


async def changed_by(request: Request, resource: Resource, action: Action) -> tuple[Any, Any]:
    """The form of a state-changing request whose CSRF token and role were checked."""
    env = env_of(request)
    await check_csrf(request, env)
    user = require(request, resource, action)
    return user, await request.form()


def _field(form: Any, name: str) -> str:
    return str(form.get(name) or "").strip()


# -- variables --------------------------------------------------------------------------------
@router.get("/admin/variables", response_class=HTMLResponse)
def admin_variables(
    request: Request, page: int = Query(1, ge=1, le=100_000), edit: str = "", error: str = ""
) -> HTMLResponse:
    """Variables with an add/edit form; values of secret-looking keys masked."""
    user = require(request, Resource.VARIABLE)
    variables = VariableService(env_of(request))
    views, more = variables.browse(limit=PAGE, offset=(page - 1) * PAGE)
    items = [{"key": v.key, "value": v.value, "description": v.description} for v in views]
    editing = variables.find(edit) if edit else None
    form = None
    if editing is not None:
        form = {"key": editing.key, "value": editing.value, "description": editing.description}
    return render(
        request, "admin_variables.html", user, items=items, more=more, page=page,
        editing=form, error=error, title="Variables",
    )  # fmt: skip


@router.post("/admin/variables/save")
async def save_variable(request: Request) -> RedirectResponse:
    """Create a variable, or edit one (``original`` set); ``***`` keeps the stored value."""
    original = str((await request.form()).get("original") or "")
    action = Action.EDIT if original else Action.CREATE
    user, form = await changed_by(request, Resource.VARIABLE, action)
    variables = VariableService(env_of(request))
    key, value = _field(form, "key"), str(form.get("value") or "")
    description = str(form.get("description") or "") or None
    try:
        if not original:
            variables.create(key, value, description=description, user=user.username)
        elif original != key:
            raise InvalidInput("a variable's key cannot be changed: add a new one")
        elif value == MASK and is_sensitive_key(key):  # the masked value sent back: keep it
            variables.update(key, description=description, user=user.username)
        elif description is None:
            variables.update(key, value=value, user=user.username)
        else:
            variables.update(key, value=value, description=description, user=user.username)
    except TradewindError as exc:
        return back("/admin/variables", str(exc))
    return back("/admin/variables")


@router.post("/admin/variables/delete")
async def delete_variable(request: Request) -> RedirectResponse:
    """Delete a variable."""
    user, form = await changed_by(request, Resource.VARIABLE, Action.DELETE)
    try:
        VariableService(env_of(request)).delete(_field(form, "key"), user=user.username)
    except TradewindError as exc:
        return back("/admin/variables", str(exc))
    return back("/admin/variables")


# -- connections ------------------------------------------------------------------------------
CONN_FIELDS = ("conn_type", "description", "host", "schema", "login", "port", "extra")


@router.get("/admin/connections", response_class=HTMLResponse)
def admin_connections(
    request: Request, page: int = Query(1, ge=1, le=100_000), edit: str = "", error: str = ""
) -> HTMLResponse:
    """Connections with an add/edit form; passwords never shown, secret extras masked."""
    user = require(request, Resource.CONNECTION)
    connections = ConnectionService(env_of(request))
    items, more = connections.browse(limit=PAGE, offset=(page - 1) * PAGE)
    editing = connections.resolve(edit) if edit else None
    form = None
    if editing is not None:
        form = conn_service.masked(editing)
        form["has_password"], form["password"] = bool(editing.get("password")), ""
    return render(
        request, "admin_connections.html", user, items=items, more=more, page=page,
        editing=form, error=error, title="Connections",
    )  # fmt: skip


def _connection_changes(form: Any, stored: dict[str, Any] | None) -> dict[str, Any]:
    """The connection fields from the form; an empty password or a masked extra keeps what
    is stored."""
    data: dict[str, Any] = {name: _field(form, name) or None for name in CONN_FIELDS}
    password = str(form.get("password") or "")
    if password or stored is None:
        data["password"] = password or None
    masked_extra = conn_service.masked(stored).get("extra") if stored else None
    if masked_extra and data["extra"] == masked_extra:
        data["extra"] = stored["extra"]  # type: ignore[index]
    if data["extra"]:
        try:
            json.loads(data["extra"])
        except ValueError:
            raise InvalidInput("extra must be a JSON object") from None
    return data


@router.post("/admin/connections/save")
async def save_connection(request: Request) -> RedirectResponse:
    """Create a connection, or edit one (``original`` set) keeping its unsent secrets."""
    original = str((await request.form()).get("original") or "")
    action = Action.EDIT if original else Action.CREATE
    user, form = await changed_by(request, Resource.CONNECTION, action)
    connections = ConnectionService(env_of(request))
    conn_id = _field(form, "conn_id")
    try:
        if original and original != conn_id:
            raise InvalidInput("a connection's id cannot be changed: add a new one")
        stored = connections.resolve(conn_id) if original else None
        changes = _connection_changes(form, stored)
        if original:
            connections.update(conn_id, changes, user=user.username)
        else:
            connections.create({"conn_id": conn_id, **changes}, user=user.username)
    except TradewindError as exc:
        return back("/admin/connections", str(exc))
    return back("/admin/connections")


@router.post("/admin/connections/delete")
async def delete_connection(request: Request) -> RedirectResponse:
    """Delete a connection."""
    user, form = await changed_by(request, Resource.CONNECTION, Action.DELETE)
    try:
        ConnectionService(env_of(request)).delete(_field(form, "conn_id"), user=user.username)
    except TradewindError as exc:
        return back("/admin/connections", str(exc))
    return back("/admin/connections")


# -- pools ------------------------------------------------------------------------------------
@router.get("/admin/pools", response_class=HTMLResponse)
def admin_pools(request: Request, edit: str = "", error: str = "") -> HTMLResponse:
    """Pools, the slots in use, and an add/edit form."""
    user = require(request, Resource.POOL)
    pools = PoolService(env_of(request)).table()
    editing = next((p for p in pools if p["pool"] == edit), None)
    return render(
        request, "admin_pools.html", user, pools=pools, editing=editing, error=error,
        default_pool=pool_service.DEFAULT_POOL, title="Pools",
    )  # fmt: skip


@router.post("/admin/pools/save")
async def save_pool(request: Request) -> RedirectResponse:
    """Create or edit a pool (the default pool's slots and description too)."""
    original = str((await request.form()).get("original") or "")
    action = Action.EDIT if original else Action.CREATE
    user, form = await changed_by(request, Resource.POOL, action)
    pools = PoolService(env_of(request))
    name = _field(form, "pool")
    try:
        slots = int(_field(form, "slots") or "0")
    except ValueError:
        return back("/admin/pools", "slots must be a whole number (-1 for unlimited)")
    description = str(form.get("description") or "")
    deferred = bool(form.get("include_deferred"))
    try:
        if original and original != name:
            raise InvalidInput("a pool's name cannot be changed: add a new one")
        use_case = pools.put if original else pools.create  # create refuses a taken name
        use_case(name, slots, description, include_deferred=deferred, user=user.username)
    except TradewindError as exc:
        return back("/admin/pools", str(exc))
    return back("/admin/pools")


@router.post("/admin/pools/delete")
async def delete_pool(request: Request) -> RedirectResponse:
    """Delete a pool (never the default pool)."""
    user, form = await changed_by(request, Resource.POOL, Action.DELETE)
    try:
        PoolService(env_of(request)).delete(_field(form, "pool"), user=user.username)
    except TradewindError as exc:
        return back("/admin/pools", str(exc))
    return back("/admin/pools")


router.include_router(users_router)
