"""Variables: key-value settings, encrypted at rest; ``TRADEWIND_VAR_<KEY>`` env overrides."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.core.masking import is_sensitive_key
from tradewind.errors import AlreadyExists, InvalidInput, NotFound
from tradewind.metastore.tables import Variable
from tradewind.services.env import Env
from tradewind.services.event_log import log_change
from tradewind.services.install import fernet_key


def fernet(env: Env) -> MultiFernet:
    """The Fernet (several keys, comma-separated, for rotation) that guards secrets at rest."""
    keys = [k.strip() for k in fernet_key(env.settings).split(",") if k.strip()]
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt(env: Env, value: str) -> str:
    """Encrypt ``value`` with the first (newest) Fernet key."""
    return fernet(env).encrypt(value.encode()).decode()


def decrypt(env: Env, value: str) -> str:
    """Decrypt with any of the configured keys (old keys stay readable during a rotation)."""
    return fernet(env).decrypt(value.encode()).decode()


def get_variable_value(env: Env, session: Session, key: str) -> str | None:
    """Return a variable's value: the environment first, then the metastore."""
    from_env = os.environ.get(f"TRADEWIND_VAR_{key.upper()}")
    if from_env is not None:
        return from_env
    row = session.execute(select(Variable).where(Variable.key == key)).scalar_one_or_none()
    if row is None or row.val is None:
        return None
    if row.is_encrypted:
        return decrypt(env, row.val)
    return row.val


def _validate_key(key: str) -> None:
    if not key or len(key) > 250:
        raise InvalidInput("a variable key must be 1 to 250 characters long")


def set_variable(
    env: Env,
    session: Session,
    key: str,
    value: Any,
    *,
    description: str | None = None,
    serialize_json: bool = False,
) -> None:
    """Create or update a variable; the value is stored encrypted."""
    _validate_key(key)
    text = json.dumps(value) if serialize_json or not isinstance(value, str) else value
    row = session.execute(select(Variable).where(Variable.key == key)).scalar_one_or_none()
    if row is None:
        row = Variable(key=key)
        session.add(row)
    row.val = encrypt(env, text)
    row.is_encrypted = True
    if description is not None:
        row.description = description


def get_variable(env: Env, session: Session, key: str, *, deserialize_json: bool = False) -> Any:
    """Return a variable's value (parsed as JSON if asked); raise NotFound when absent."""
    value = get_variable_value(env, session, key)
    if value is None:
        raise NotFound(f"variable {key!r} does not exist")
    return json.loads(value) if deserialize_json else value


def delete_variable(session: Session, key: str) -> None:
    """Delete a variable; raise NotFound when absent."""
    row = session.execute(select(Variable).where(Variable.key == key)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"variable {key!r} does not exist")
    session.delete(row)


def list_variables(
    env: Env, session: Session, *, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    """Return every stored variable as ``{"key", "value", "description"}`` (decrypted)."""
    q = select(Variable).order_by(Variable.key).offset(offset)
    if limit is not None:
        q = q.limit(limit)
    out = []
    for row in session.execute(q).scalars():
        value = decrypt(env, row.val) if (row.is_encrypted and row.val is not None) else row.val
        out.append({"key": row.key, "value": value, "description": row.description})
    return out


def export_variables(env: Env, session: Session) -> dict[str, Any]:
    """Return ``{key: value}`` for every variable (JSON values parsed, as Airflow exports)."""
    out: dict[str, Any] = {}
    for item in list_variables(env, session):
        try:
            out[item["key"]] = json.loads(item["value"])
        except (TypeError, ValueError):
            out[item["key"]] = item["value"]
    return out


def import_variables(env: Env, session: Session, data: dict[str, Any]) -> int:
    """Create or update every variable of ``{key: value}``; return how many."""
    if not isinstance(data, dict):
        raise InvalidInput("a variables file must hold one JSON object of key: value")
    for key, value in data.items():
        set_variable(env, session, key, value)
    return len(data)


def rotate_variables(env: Env, session: Session) -> int:
    """Re-encrypt every variable with the newest key; return how many rows changed."""
    f = fernet(env)
    n = 0
    for row in session.execute(select(Variable)).scalars():
        if row.val is None:
            continue
        if row.is_encrypted:
            row.val = f.rotate(row.val.encode()).decode()
        else:
            row.val, row.is_encrypted = f.encrypt(row.val.encode()).decode(), True
        n += 1
    return n


MASK = "***"
_UNDECRYPTABLE = "(cannot decrypt with the current fernet_key)"
_UNSET: Any = object()


@dataclass(frozen=True)
class VariableView:
    """A stored variable as every front end shows it: decrypted, and ``***`` for a key that
    looks secret (``password``, ``token``...)."""

    key: str
    value: str | None
    description: str | None
    is_encrypted: bool


class VariableService:
    """The variables' use cases, bound to the environment: the REST API, the UI and the CLI
    call these; each call is one transaction, and a change made by a user is event-logged."""

    def __init__(self, env: Env):
        self.env = env

    def _view(self, row: Variable) -> VariableView:
        value = row.val
        if is_sensitive_key(row.key) and value is not None:
            value = MASK
        elif value is not None and row.is_encrypted:
            try:
                value = decrypt(self.env, value)
            except InvalidToken:  # a value under an old key: say so, do not fail the page
                value = _UNDECRYPTABLE
        return VariableView(row.key, value, row.description, bool(row.is_encrypted))

    @staticmethod
    def _missing(key: str) -> NotFound:
        return NotFound(f"The Variable with key: `{key}` was not found")

    def page(
        self, paging: Any, pattern: str | None = None, prefix: str | None = None
    ) -> tuple[list[VariableView], int]:
        """One page (``services.queries.Paging``) of the stored variables, and their total."""
        from tradewind.services.queries.admin import list_variable_rows

        with self.env.db.session(readonly=True) as session:
            found = list_variable_rows(session, pattern, prefix, paging)
            return [self._view(row) for row in found.items], found.total

    def browse(self, limit: int, offset: int) -> tuple[list[VariableView], bool]:
        """Variables by key, ``limit`` from ``offset``, and whether there are more."""
        q = select(Variable).order_by(Variable.key).offset(offset).limit(limit + 1)
        with self.env.db.session(readonly=True) as session:
            rows = [self._view(row) for row in session.execute(q).scalars()]
        return rows[:limit], len(rows) > limit

    def find(self, key: str) -> VariableView | None:
        """The stored variable ``key`` (not the environment's), or None."""
        with self.env.db.session(readonly=True) as session:
            row = _stored(session, key)
            return self._view(row) if row is not None else None

    def get(self, key: str) -> VariableView:
        """The stored variable ``key``; raise NotFound."""
        found = self.find(key)
        if found is None:
            raise self._missing(key)
        return found

    def value(self, key: str, *, deserialize_json: bool = False) -> Any:
        """What a task reads: ``TRADEWIND_VAR_<KEY>`` first, then the stored value, decrypted
        and unmasked (parsed as JSON if asked); raise NotFound."""
        with self.env.db.session(readonly=True) as session:
            return get_variable(self.env, session, key, deserialize_json=deserialize_json)

    def everything(self) -> list[VariableView]:
        """Every stored variable, by key."""
        with self.env.db.session(readonly=True) as session:
            q = select(Variable).order_by(Variable.key)
            return [self._view(row) for row in session.execute(q).scalars()]

    def create(
        self, key: str, value: Any, description: str | None = None, *, user: str | None = None
    ) -> VariableView:
        """Add a variable; raise AlreadyExists when the key is taken."""
        with self.env.db.session() as session:
            if _stored(session, key) is not None:
                raise AlreadyExists(f"The Variable with key: `{key}` already exists")
            set_variable(self.env, session, key, value, description=description)
            log_change(self.env, session, "variable_create", user, {"key": key})
            session.flush()
            return self._view(_stored(session, key))  # type: ignore[arg-type]

    def put(
        self,
        key: str,
        value: Any,
        description: str | None = None,
        *,
        serialize_json: bool = False,
        user: str | None = None,
    ) -> None:
        """Create or replace a variable (``tradewind variables set``)."""
        with self.env.db.session() as session:
            set_variable(
                self.env,
                session,
                key,
                value,
                description=description,
                serialize_json=serialize_json,
            )
            log_change(self.env, session, "variable_edit", user, {"key": key})

    def update(
        self, key: str, *, value: Any = _UNSET, description: Any = _UNSET, user: str | None = None
    ) -> VariableView:
        """Change the value and/or the description of a stored variable; raise NotFound."""
        with self.env.db.session() as session:
            row = _stored(session, key)
            if row is None:
                raise self._missing(key)
            if value is not _UNSET:
                set_variable(self.env, session, key, value)
            if description is not _UNSET:
                row.description = description
            fields = sorted(
                n for n, v in (("description", description), ("value", value)) if v is not _UNSET
            )
            log_change(self.env, session, "variable_edit", user, {"key": key, "fields": fields})
            session.flush()
            return self._view(row)

    def delete(self, key: str, *, user: str | None = None) -> None:
        """Delete a stored variable; raise NotFound."""
        with self.env.db.session() as session:
            if _stored(session, key) is None:
                raise self._missing(key)
            delete_variable(session, key)
            log_change(self.env, session, "variable_delete", user, {"key": key})

    def export(self) -> dict[str, Any]:
        """``{key: value}`` of every variable, in clear (JSON values parsed)."""
        with self.env.db.session(readonly=True) as session:
            return export_variables(self.env, session)

    def import_(self, data: dict[str, Any]) -> int:
        """Create or update every variable of ``{key: value}``; return how many."""
        with self.env.db.session() as session:
            return import_variables(self.env, session, data)


def _stored(session: Session, key: str) -> Variable | None:
    return session.execute(select(Variable).where(Variable.key == key)).scalar_one_or_none()
