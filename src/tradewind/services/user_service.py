"""The users' use cases, bound to the environment (the UI's admin pages and the CLI call them).

Each call is one transaction and is event-logged by ``services/users.py`` with the user who
made it (``owner``; the CLI passes none). Users leave here as :class:`UserView` (never the
password hash).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tradewind.metastore.tables import User
from tradewind.services import users as ops
from tradewind.services.env import Env


@dataclass(frozen=True)
class UserView:
    """A user as the admin pages and ``tradewind users list`` show it."""

    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    roles: tuple[str, ...]
    active: bool
    last_login: datetime | None
    login_count: int
    #: what a session or token of this user must carry to be valid (bumped on revocation)
    version: int = 0

    @classmethod
    def of(cls, row: User) -> UserView:
        return cls(
            row.id, row.username, row.email, row.first_name, row.last_name,
            tuple(row.roles or ()), bool(row.active), row.last_login, int(row.login_count or 0),
            ops.credential_version(row),
        )  # fmt: skip


class UserService:
    """Create, list, change and delete users; their roles, passwords and sessions."""

    def __init__(self, env: Env):
        self.env = env

    def page(self, limit: int, offset: int = 0) -> list[UserView]:
        """Users by name, ``limit`` from ``offset``."""
        with self.env.db.session(readonly=True) as session:
            return [UserView.of(u) for u in ops.list_users(session, limit=limit, offset=offset)]

    def find(self, username: str) -> UserView | None:
        """The user ``username``, or None."""
        with self.env.db.session(readonly=True) as session:
            row = ops.find_user(session, username)
            return UserView.of(row) if row is not None else None

    def active(self, username: str) -> UserView | None:
        """The user ``username`` if it exists and is active (read on every request, so a
        deleted or deactivated user is refused at once), else None."""
        with self.env.db.session(readonly=True) as session:
            row = ops.find_user(session, username)
            return UserView.of(row) if row is not None and row.active else None

    def create(
        self,
        username: str,
        email: str,
        first_name: str,
        last_name: str,
        password: str,
        roles: list[str],
        *,
        owner: str | None = None,
    ) -> UserView:
        """Add a user (password stored argon2-hashed); raise AlreadyExists or InvalidInput."""
        with self.env.db.session() as session:
            row = ops.create_user(
                session, username, email, first_name, last_name, password, roles,
                self.env.now(), owner=owner,
            )  # fmt: skip
            return UserView.of(row)

    def log_in(
        self, username: str, password: str, client: str = "", *, via: str | None = None
    ) -> UserView:
        """Check a user name and password from ``client`` (event-logged ``login``, with
        ``via`` when given); raise AuthenticationFailed, after counting the failure."""
        from tradewind.errors import AuthenticationFailed
        from tradewind.services.event_log import log_event

        now = self.env.now()
        failure: AuthenticationFailed | None = None
        with self.env.db.session() as session:
            try:
                row = ops.authenticate(session, username, password, now, client)
                extra = {"via": via} if via else None
                log_event(session, "login", now=now, owner=row.username, extra=extra)
                found = UserView.of(row)
            except AuthenticationFailed as exc:
                failure = exc  # committed on purpose: the failure must be counted
        if failure is not None:
            raise failure
        return found

    def log_out(self, username: str) -> None:
        """End every web session and API token of ``username`` (its own logout)."""
        with self.env.db.session() as session:
            ops.revoke_sessions(session, username, self.env.now(), owner=username, reason="logout")

    def create_first(
        self, username: str, password: str, roles: list[str], **names: str
    ) -> UserView | None:
        """Add this user (``names``: email, first_name, last_name) only if there is no user
        yet (``tradewind standalone``'s admin), in one transaction; return it, or None when
        users exist."""
        with self.env.db.session() as session:
            if ops.count_users(session) > 0:
                return None
            email, first, last = (names.get(k, "") for k in ("email", "first_name", "last_name"))
            row = ops.create_user(
                session, username, email, first, last, password, roles, self.env.now()
            )
            return UserView.of(row)

    def delete(self, username: str, *, owner: str | None = None) -> None:
        """Delete a user; raise NotFound."""
        with self.env.db.session() as session:
            ops.delete_user(session, username, self.env.now(), owner=owner)

    def add_role(self, username: str, role: str, *, owner: str | None = None) -> UserView:
        """Give ``username`` a role (its sessions end: the role changed)."""
        with self.env.db.session() as session:
            return UserView.of(ops.add_role(session, username, role, self.env.now(), owner=owner))

    def remove_role(self, username: str, role: str, *, owner: str | None = None) -> UserView:
        """Take a role from ``username`` (its sessions end)."""
        with self.env.db.session() as session:
            row = ops.remove_role(session, username, role, self.env.now(), owner=owner)
            return UserView.of(row)

    def set_roles(self, username: str, wanted: list[str], *, owner: str | None = None) -> None:
        """Give ``username`` exactly the roles ``wanted``, in one transaction."""
        now = self.env.now()
        with self.env.db.session() as session:
            current = list(ops.get_user(session, username).roles or ())
            for role in wanted:
                if role not in current:
                    ops.add_role(session, username, role, now, owner=owner)
            for role in current:
                if role not in wanted:
                    ops.remove_role(session, username, role, now, owner=owner)

    def set_password(self, username: str, password: str, *, owner: str | None = None) -> None:
        """Set a new password (older sessions and tokens end)."""
        with self.env.db.session() as session:
            ops.set_password(session, username, password, self.env.now(), owner=owner)

    def revoke_sessions(
        self, usernames: list[str] | None, *, owner: str | None = None
    ) -> list[str]:
        """End the web sessions and API tokens of ``usernames`` (None: every user); return them."""
        with self.env.db.session() as session:
            if usernames is None:
                usernames = [u.username for u in ops.list_users(session, limit=1_000_000)]
            for name in usernames:
                ops.revoke_sessions(session, name, self.env.now(), owner=owner, reason="revoked")
        return usernames
