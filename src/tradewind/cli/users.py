"""``tradewind users``: create, list, delete users and change their roles (Airflow's names)."""

from __future__ import annotations

import click

from tradewind.cli._output import emit, output_option
from tradewind.cli._runtime import get_env

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

    from tradewind.services.users import create_user

    if use_random_password:
        password = secrets.token_urlsafe(12)
    elif password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    env = get_env()
    with env.db.session() as session:
        create_user(session, username, email, firstname, lastname, password, [role], env.now())
    click.echo(f"User {username!r} created with role {role}.")
    if use_random_password:
        click.echo(f"Password: {password}")


@users.command("list")
@output_option
def list_(output: str) -> None:
    """List users."""
    from tradewind.services.users import list_users

    env = get_env()
    with env.db.session(readonly=True) as session:
        rows = [
            {
                "id": u.id,
                "username": u.username,
                "email": u.email,
                "first_name": u.first_name,
                "last_name": u.last_name,
                "roles": list(u.roles or []),
            }
            for u in list_users(session)
        ]
    emit(rows, output, _COLUMNS, title="Users")


@users.command("delete")
@click.option("-u", "--username", required=True)
def delete(username: str) -> None:
    """Delete a user."""
    from tradewind.services.users import delete_user

    env = get_env()
    with env.db.session() as session:
        delete_user(session, username, env.now())
    click.echo(f"User {username!r} deleted.")


@users.command("add-role")
@click.option("-u", "--username", required=True)
@click.option("-r", "--role", required=True, help=f"One of {', '.join(_ROLES)}.")
def add_role_cmd(username: str, role: str) -> None:
    """Give a user a role."""
    from tradewind.services.users import add_role

    env = get_env()
    with env.db.session() as session:
        user = add_role(session, username, role, env.now())
        roles = ", ".join(user.roles)
    click.echo(f"User {username!r} now has: {roles}.")


@users.command("remove-role")
@click.option("-u", "--username", required=True)
@click.option("-r", "--role", required=True, help=f"One of {', '.join(_ROLES)}.")
def remove_role_cmd(username: str, role: str) -> None:
    """Take a role away from a user."""
    from tradewind.services.users import remove_role

    env = get_env()
    with env.db.session() as session:
        user = remove_role(session, username, role, env.now())
        roles = ", ".join(user.roles) or "no role"
    click.echo(f"User {username!r} now has: {roles}.")


@users.command("reset-password")
@click.option("-u", "--username", required=True)
@click.option("-p", "--password", default=None, help="Prompted for (hidden) when omitted.")
def reset_password(username: str, password: str | None) -> None:
    """Set a new password for a user."""
    from tradewind.services.users import set_password

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    env = get_env()
    with env.db.session() as session:
        set_password(session, username, password, env.now())
    click.echo(f"Password of {username!r} changed.")


@users.command("revoke-sessions")
@click.option("-u", "--username", help="The user whose sessions and tokens end.")
@click.option("--all", "all_users", is_flag=True, help="End the sessions of every user.")
def revoke_sessions_cmd(username: str | None, all_users: bool) -> None:
    """End a user's web sessions and API tokens at once (they must log in again)."""
    from tradewind.services.users import list_users, revoke_sessions

    if bool(username) == all_users:
        raise click.UsageError("give either --username NAME or --all")
    env = get_env()
    with env.db.session() as session:
        names = (
            [u.username for u in list_users(session, limit=1_000_000)] if all_users else [username]
        )
        for name in names:
            revoke_sessions(session, str(name), env.now(), owner="cli", reason="revoked")
    click.echo(f"Sessions and API tokens of {', '.join(map(repr, names))} revoked.")
