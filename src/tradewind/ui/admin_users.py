"""Admin > Users (Admin only): create with roles, change roles, reset a password, delete."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tradewind.core.permissions import Action, Resource, Role
from tradewind.errors import Conflict, InvalidInput, TradewindError
from tradewind.services.user_service import UserService
from tradewind.ui.auth import check_csrf, env_of, require
from tradewind.ui.rendering import render

router = APIRouter(include_in_schema=False)
PAGE = 50
ROLES = [r.value for r in Role]
USERS = "/admin/users"


def _back(error: str | None = None) -> RedirectResponse:
    return RedirectResponse(USERS + (f"?error={quote(error)}" if error else ""), status_code=303)


async def _admin_form(request: Request, action: Action) -> tuple[Any, Any]:
    """The form of a user change by an Admin (CSRF and role checked)."""
    env = env_of(request)
    await check_csrf(request, env)
    admin = require(request, Resource.USER, action)
    return admin, await request.form()


def _roles(form: Any) -> list[str]:
    chosen = [str(r) for r in form.getlist("roles") if str(r) in ROLES]
    if not chosen:
        raise InvalidInput("choose at least one role")
    return chosen


@router.get("/admin/users", response_class=HTMLResponse)
def admin_users(
    request: Request, page: int = Query(1, ge=1, le=100_000), edit: str = "", error: str = ""
) -> HTMLResponse:
    """Users and their roles, with forms to add, change and delete them (Admin only)."""
    user = require(request, Resource.USER)
    service = UserService(env_of(request))
    users = service.page(limit=PAGE + 1, offset=(page - 1) * PAGE)
    editing = service.find(edit) if edit else None
    form = None
    if editing is not None:
        form = {"username": editing.username, "roles": list(editing.roles)}
    return render(
        request, "admin_users.html", user, users=users[:PAGE], more=len(users) > PAGE,
        page=page, editing=form, roles=ROLES, error=error, title="Users",
    )  # fmt: skip


@router.post("/admin/users/create")
async def create_user(request: Request) -> RedirectResponse:
    """Create a user with the chosen roles."""
    admin, form = await _admin_form(request, Action.CREATE)
    try:
        UserService(env_of(request)).create(
            str(form.get("username") or ""), str(form.get("email") or ""),
            str(form.get("first_name") or ""), str(form.get("last_name") or ""),
            str(form.get("password") or ""), _roles(form), owner=admin.username,
        )  # fmt: skip
    except TradewindError as exc:
        return _back(str(exc))
    return _back()


@router.post("/admin/users/roles")
async def set_roles(request: Request) -> RedirectResponse:
    """Give a user exactly the chosen roles."""
    admin, form = await _admin_form(request, Action.EDIT)
    username = str(form.get("username") or "")
    try:
        UserService(env_of(request)).set_roles(username, _roles(form), owner=admin.username)
    except TradewindError as exc:
        return _back(str(exc))
    return _back()


@router.post("/admin/users/password")
async def reset_password(request: Request) -> RedirectResponse:
    """Set a new password for a user."""
    admin, form = await _admin_form(request, Action.EDIT)
    try:
        UserService(env_of(request)).set_password(
            str(form.get("username") or ""), str(form.get("password") or ""), owner=admin.username
        )
    except TradewindError as exc:
        return _back(str(exc))
    return _back()


@router.post("/admin/users/delete")
async def delete_user(request: Request) -> RedirectResponse:
    """Delete a user (not oneself: an installation must keep an Admin who can log in)."""
    admin, form = await _admin_form(request, Action.DELETE)
    username = str(form.get("username") or "")
    try:
        if username == admin.username:
            raise Conflict("you cannot delete your own user")
        UserService(env_of(request)).delete(username, owner=admin.username)
    except TradewindError as exc:
        return _back(str(exc))
    return _back()
