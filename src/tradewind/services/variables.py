"""Variables: key-value settings, encrypted at rest; ``TRADEWIND_VAR_<KEY>`` env overrides."""

from __future__ import annotations

import json
import os
from typing import Any

from cryptography.fernet import Fernet, MultiFernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.errors import InvalidInput, NotFound
from tradewind.metastore.tables import Variable
from tradewind.services.env import Env
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
