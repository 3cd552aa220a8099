"""Users of the web UI and the API: argon2-hashed passwords, roles, throttled login, and
revocable sessions.

Failed logins are throttled per user name and client address (``services/login_throttle``).
Each user has a ``credential_version`` that every session cookie and API token carries; a
logout, a password change or a role change bumps it (``revoke_sessions``), which ends every
session and token issued before.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from tradewind.core.permissions import Role, role_named
from tradewind.errors import AlreadyExists, AuthenticationFailed, InvalidInput, NotFound
from tradewind.metastore.tables import LoginFailure, User
from tradewind.services import login_throttle
from tradewind.services.event_log import log_event

# OWASP's argon2id baseline (19 MiB, 2 passes): ~0.1 s per check on a small server, where
# argon2-cffi's default (64 MiB, 3 passes) takes ~0.7 s and would make login a DoS lever.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# Verified against when the user does not exist, so a wrong name costs as long as a wrong
# password (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("tradewind-dummy-password")


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (False for a malformed hash)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _role_names(roles: list[str] | tuple[str, ...]) -> list[str]:
    """Canonical role names (``admin`` -> ``Admin``); InvalidInput for an unknown one."""
    out: list[str] = []
    for name in roles:
        role = role_named(name)
        if role is None:
            known = ", ".join(r.value for r in Role)
            raise InvalidInput(f"unknown role {name!r}; the roles are {known}")
        if role.value not in out:
            out.append(role.value)
    return out


def create_user(
    session: Session,
    username: str,
    email: str,
    first_name: str,
    last_name: str,
    password: str,
    roles: list[str] | tuple[str, ...],
    now: datetime,
    *,
    owner: str | None = None,
) -> User:
    """Create a user with an argon2-hashed password (``owner``: who did it, for the audit log).

    Raises:
        InvalidInput: empty user name or password, or an unknown role.
        AlreadyExists: the user name or e-mail is taken.
    """
    username = username.strip()
    if not username:
        raise InvalidInput("the user name must not be empty")
    if not password:
        raise InvalidInput("the password must not be empty")
    names = _role_names(list(roles) or [Role.PUBLIC.value])
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AlreadyExists(f"user {username!r} already exists")
    if email and session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AlreadyExists(f"a user with e-mail {email!r} already exists")
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        password_hash=hash_password(password),
        roles=names,
        active=True,
        created_on=now,
        login_count=0,
        fail_login_count=0,
    )
    session.add(user)
    session.flush()
    log_event(
        session, "user_create", now=now, owner=owner, extra={"username": username, "roles": names}
    )
    return user


def get_user(session: Session, username: str) -> User:
    """Return the user called ``username``, or raise NotFound."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"user {username!r} not found")
    return user


def find_user(session: Session, username: str) -> User | None:
    """Return the user called ``username``, or None."""
    return session.scalar(select(User).where(User.username == username))


def list_users(session: Session, *, limit: int = 1000, offset: int = 0) -> list[User]:
    """Users ordered by user name."""
    query = select(User).order_by(User.username).limit(limit).offset(offset)
    return list(session.scalars(query))


def count_users(session: Session) -> int:
    """How many users exist."""
    return int(session.scalar(select(func.count(User.id))) or 0)


def delete_user(
    session: Session, username: str, now: datetime, *, owner: str | None = None
) -> None:
    """Delete a user (NotFound if there is none)."""
    user = get_user(session, username)
    session.delete(user)
    session.execute(
        cast(Table, LoginFailure.__table__).delete().where(LoginFailure.username == username)
    )
    log_event(session, "user_delete", now=now, owner=owner, extra={"username": username})


def add_role(
    session: Session, username: str, role: str, now: datetime, *, owner: str | None = None
) -> User:
    """Give ``role`` to a user (no change if it has it already)."""
    user = get_user(session, username)
    name = _role_names([role])[0]
    if name not in user.roles:
        user.roles = [*user.roles, name]
        revoke_sessions(session, username, now, owner=owner, reason="role change")
        log_event(
            session,
            "user_add_role",
            now=now,
            owner=owner,
            extra={"username": username, "role": name},
        )
    return user


def remove_role(
    session: Session, username: str, role: str, now: datetime, *, owner: str | None = None
) -> User:
    """Take ``role`` away from a user (InvalidInput if it does not have it)."""
    user = get_user(session, username)
    name = _role_names([role])[0]
    if name not in user.roles:
        raise InvalidInput(f"user {username!r} does not have role {name!r}")
    user.roles = [r for r in user.roles if r != name]
    revoke_sessions(session, username, now, owner=owner, reason="role change")
    log_event(
        session,
        "user_remove_role",
        now=now,
        owner=owner,
        extra={"username": username, "role": name},
    )
    return user


def authenticate(
    session: Session, username: str, password: str, now: datetime, client: str = ""
) -> User:
    """Check a user name and password from ``client`` (its address); return the user.

    After ``MAX_PER_USER_AND_CLIENT`` failures of this pair (or ``MAX_PER_CLIENT`` of this
    client) within the sliding window, the pair is refused until the window clears, even
    with the right password; other clients may still log in as the user. The caller must
    commit the session also when this raises, so that the failure is counted.

    Raises:
        AuthenticationFailed: unknown user, wrong password, inactive or throttled.
    """
    until = login_throttle.throttled_until(session, username, client, now)
    if until is not None:
        raise AuthenticationFailed(
            f"Too many failed logins; try again after {until.isoformat(timespec='seconds')}"
        )
    user = find_user(session, username)
    if user is None:
        verify_password(_DUMMY_HASH, password)
        login_throttle.record_failure(session, username, client, now)
        raise AuthenticationFailed("Invalid credentials")
    if not user.active or not verify_password(user.password_hash, password):
        user.fail_login_count = (user.fail_login_count or 0) + 1
        login_throttle.record_failure(session, username, client, now)
        raise AuthenticationFailed("Invalid credentials")
    user.fail_login_count = 0
    user.login_count = (user.login_count or 0) + 1
    user.last_login = now
    login_throttle.clear_failures(session, username, client)
    return user


def revoke_sessions(
    session: Session,
    username: str,
    now: datetime,
    *,
    owner: str | None = None,
    reason: str = "revoked",
) -> int:
    """End every UI session and API token of ``username``; return the new version."""
    user = get_user(session, username)
    user.credential_version = (user.credential_version or 0) + 1
    log_event(
        session,
        "user_revoke_sessions",
        now=now,
        owner=owner,
        extra={"username": username, "reason": reason},
    )
    return user.credential_version


def credential_version(user: User) -> int:
    """The version a session or token of ``user`` must carry to be valid."""
    return int(user.credential_version or 0)


def set_password(
    session: Session, username: str, password: str, now: datetime, *, owner: str | None = None
) -> User:
    """Replace a user's password."""
    if not password:
        raise InvalidInput("the password must not be empty")
    user = get_user(session, username)
    user.password_hash = hash_password(password)
    revoke_sessions(session, username, now, owner=owner, reason="password change")
    log_event(session, "user_set_password", now=now, owner=owner, extra={"username": username})
    return user
