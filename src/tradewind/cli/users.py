"""``tradewind users``: create, list, delete users and change their roles (Airflow's names)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from tradewind.cli._output import emit, output_option
from tradewind.cli._runtime import get_env

if TYPE_CHECKING:
    from tradewind.services.user_service import UserService

_ROLES = ("Admin", "Op", "User", "Viewer", "Public")
_COLUMNS = ["id", "username", "email", "first_name", "last_name", "roles"]


@click.group("users", help="Manage the people who log in to the web UI and the API.")
def users() -> None:
    """Manage users."""


@users.command("create")
@click.option("-r", "--role", required=True, help=f"One of {', '.join(_ROLES)}.")
@click.option("-u", "--username", required=True)
@click.option("-e", "--email", required=True)
@click.option("-f", "--firstname", required=True)
@click.option("-l", "--lastname", required=True)
@click.option("-p", "--password", default=None, help="Prompted for (hidden) when omitted.")
@click.option("--use-random-password", is_flag=True, help="Generate a password and print it.")
def create(
    role: str,
    username: str,
    email: str,
    firstname: str,
    lastname: str,
    password: str | None,
    use_random_password: bool,
) -> None:
    """Create a user; the password is stored argon2-hashed."""
    import secrets

    if use_random_password:
        password = secrets.token_urlsafe(12)
    elif password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    _users().create(username, email, firstname, lastname, password, [role])
    click.echo(f"User {username!r} created with role {role}.")
    if use_random_password:
        click.echo(f"Password: {password}")


@users.command("list")
@output_option
def list_(output: str) -> None:
    """List users."""
    rows = [
        {
            "id": u.id,
            "username": u.username,
            "email": u.email,
            "first_name": u.first_name,
            "last_name": u.last_name,
            "roles": list(u.roles),
        }
        for u in _users().page(limit=1000)
    ]
    emit(rows, output, _COLUMNS, title="Users")


@users.command("delete")
@click.option("-u", "--username", required=True)
def delete(username: str) -> None:
    """Delete a user."""
    _users().delete(username)
    click.echo(f"User {username!r} deleted.")


@users.command("add-role")
@click.option("-u", "--username", required=True)
@click.option("-r", "--role", required=True, help=f"One of {', '.join(_ROLES)}.")
def add_role_cmd(username: str, role: str) -> None:
    """Give a user a role."""
    roles = ", ".join(_users().add_role(username, role).roles)
    click.echo(f"User {username!r} now has: {roles}.")


@users.command("remove-role")
@click.option("-u", "--username", required=True)
@click.option("-r", "--role", required=True, help=f"One of {', '.join(_ROLES)}.")
def remove_role_cmd(username: str, role: str) -> None:
    """Take a role away from a user."""
    roles = ", ".join(_users().remove_role(username, role).roles) or "no role"
    click.echo(f"User {username!r} now has: {roles}.")


@users.command("reset-password")
@click.option("-u", "--username", required=True)
@click.option("-p", "--password", default=None, help="Prompted for (hidden) when omitted.")
def reset_password(username: str, password: str | None) -> None:
    """Set a new password for a user."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    _users().set_password(username, password)
    click.echo(f"Password of {username!r} changed.")


@users.command("revoke-sessions")
@click.option("-u", "--username", help="The user whose sessions and tokens end.")
@click.option("--all", "all_users", is_flag=True, help="End the sessions of every user.")
def revoke_sessions_cmd(username: str | None, all_users: bool) -> None:
    """End a user's web sessions and API tokens at once (they must log in again)."""
    if bool(username) == all_users:
        raise click.UsageError("give either --username NAME or --all")
    names = _users().revoke_sessions(None if all_users else [str(username)], owner="cli")
    click.echo(f"Sessions and API tokens of {', '.join(map(repr, names))} revoked.")


def _users() -> UserService:
    """The users' service for this installation (imported when a command runs)."""
    from tradewind.services.user_service import UserService

    return UserService(get_env())
