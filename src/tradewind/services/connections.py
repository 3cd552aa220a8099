"""Connections: credentials for external systems, encrypted at rest; ``TRADEWIND_CONN_<ID>``."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.errors import AlreadyExists, InvalidInput, NotFound
from tradewind.hooks.base import Connection as ConnectionInfo
from tradewind.hooks.base import env_connection
from tradewind.metastore.tables import Connection
from tradewind.services.env import Env
from tradewind.services.variables import decrypt, encrypt, fernet, rotate_variables

FIELDS = (
    "conn_id",
    "conn_type",
    "description",
    "host",
    "schema",
    "login",
    "password",
    "port",
    "extra",
)
MASK = "***"


def parse_uri(conn_id: str, uri: str) -> dict[str, Any]:
    """Turn ``postgresql://user:pass@host:5432/db?x=1`` (or a JSON object) into a dict."""
    return ConnectionInfo.from_uri(conn_id, uri).to_dict()


def _row_dict(env: Env, row: Connection) -> dict[str, Any]:
    password = row.password
    if password and row.is_encrypted:
        password = decrypt(env, password)
    extra = row.extra
    if extra and row.is_extra_encrypted:
        extra = decrypt(env, extra)
    return {
        "conn_id": row.conn_id,
        "conn_type": row.conn_type,
        "host": row.host,
        "schema": row.schema,
        "login": row.login,
        "password": password,
        "port": row.port,
        "extra": extra,
        "description": row.description,
    }


def _row(session: Session, conn_id: str) -> Connection | None:
    return session.execute(
        select(Connection).where(Connection.conn_id == conn_id)
    ).scalar_one_or_none()


def get_connection_dict(env: Env, session: Session, conn_id: str) -> dict[str, Any] | None:
    """Return a connection with its password decrypted: the environment first, then the DB."""
    from_env = env_connection(conn_id)
    if from_env is not None:
        return from_env.to_dict()
    row = _row(session, conn_id)
    return None if row is None else _row_dict(env, row)


def get_connection(env: Env, session: Session, conn_id: str) -> dict[str, Any]:
    """Return a stored connection (decrypted); raise NotFound when absent."""
    data = get_connection_dict(env, session, conn_id)
    if data is None:
        raise NotFound(f"connection {conn_id!r} does not exist")
    return data


def masked(data: dict[str, Any]) -> dict[str, Any]:
    """Return a copy fit to show a person: password and secret-looking extras as ``***``."""
    from tradewind.core.masking import is_sensitive_key

    out = dict(data)
    if out.get("password"):
        out["password"] = MASK
    extra = out.get("extra")
    if extra:
        try:
            parsed = json.loads(extra)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            out["extra"] = json.dumps(
                {k: (MASK if is_sensitive_key(k) else v) for k, v in parsed.items()}
            )
    return out


def _normalize(data: dict[str, Any]) -> dict[str, Any]:
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise InvalidInput(f"unknown connection fields: {', '.join(sorted(unknown))}")
    conn_id = data.get("conn_id")
    if not conn_id or not isinstance(conn_id, str) or len(conn_id) > 250:
        raise InvalidInput("conn_id must be a non-empty string of at most 250 characters")
    if not data.get("conn_type"):
        raise InvalidInput(f"connection {conn_id!r}: conn_type is required")
    out = {k: data.get(k) for k in FIELDS}
    if isinstance(out["extra"], dict):
        out["extra"] = json.dumps(out["extra"])
    if out["extra"]:
        try:
            json.loads(out["extra"])
        except ValueError:
            raise InvalidInput(f"connection {conn_id!r}: extra must be a JSON object") from None
    if out["port"] not in (None, ""):
        try:
            out["port"] = int(out["port"])
        except (TypeError, ValueError):
            raise InvalidInput(f"connection {conn_id!r}: port must be a number") from None
    else:
        out["port"] = None
    return out


def _write(env: Env, row: Connection, data: dict[str, Any]) -> None:
    for key in ("conn_type", "description", "host", "schema", "login", "port"):
        setattr(row, key, data[key])
    row.password = encrypt(env, data["password"]) if data["password"] else None
    row.is_encrypted = bool(data["password"])
    row.extra = encrypt(env, data["extra"]) if data["extra"] else None
    row.is_extra_encrypted = bool(data["extra"])


def add_connection(
    env: Env, session: Session, data: dict[str, Any], *, overwrite: bool = False
) -> None:
    """Store a new connection (password and extra encrypted); AlreadyExists unless overwrite."""
    clean = _normalize(data)
    row = _row(session, clean["conn_id"])
    if row is not None and not overwrite:
        raise AlreadyExists(f"connection {clean['conn_id']!r} already exists")
    if row is None:
        row = Connection(conn_id=clean["conn_id"])
        session.add(row)
    _write(env, row, clean)


def update_connection(env: Env, session: Session, conn_id: str, changes: dict[str, Any]) -> None:
    """Change some fields of a stored connection; raise NotFound when absent."""
    row = _row(session, conn_id)
    if row is None:
        raise NotFound(f"connection {conn_id!r} does not exist")
    merged = {**_row_dict(env, row), **changes, "conn_id": conn_id}
    _write(env, row, _normalize(merged))


def delete_connection(session: Session, conn_id: str) -> None:
    """Delete a stored connection; raise NotFound when absent."""
    row = _row(session, conn_id)
    if row is None:
        raise NotFound(f"connection {conn_id!r} does not exist")
    session.delete(row)


def list_connections(
    env: Env, session: Session, *, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    """Return stored connections, decrypted, ordered by conn_id (mask before showing)."""
    q = select(Connection).order_by(Connection.conn_id).offset(offset)
    if limit is not None:
        q = q.limit(limit)
    return [_row_dict(env, row) for row in session.execute(q).scalars()]


def export_connections(env: Env, session: Session) -> dict[str, dict[str, Any]]:
    """Return ``{conn_id: {fields}}`` as Airflow's ``connections export`` JSON."""
    out = {}
    for data in list_connections(env, session):
        out[data.pop("conn_id")] = data
    return out


def import_connections(
    env: Env, session: Session, data: dict[str, Any], *, overwrite: bool = False
) -> tuple[int, list[str]]:
    """Store every connection of ``{conn_id: fields or URI}``; return (added, skipped ids)."""
    if not isinstance(data, dict):
        raise InvalidInput("a connections file must hold one JSON object of conn_id: fields")
    added, skipped = 0, []
    for conn_id, fields in data.items():
        item = (
            parse_uri(conn_id, fields)
            if isinstance(fields, str)
            else {**fields, "conn_id": conn_id}
        )
        if _row(session, conn_id) is not None and not overwrite:
            skipped.append(conn_id)
            continue
        add_connection(env, session, item, overwrite=overwrite)
        added += 1
    return added, skipped


def rotate_fernet_key(session: Session, env: Env) -> dict[str, int]:
    """Re-encrypt every secret with the first key of ``[core] fernet_key`` (``new,old``)."""
    f = fernet(env)
    n = 0
    for row in session.execute(select(Connection)).scalars():
        if row.password:
            row.password = (
                f.rotate(row.password.encode()).decode()
                if row.is_encrypted
                else encrypt(env, row.password)
            )
            row.is_encrypted = True
        if row.extra:
            row.extra = (
                f.rotate(row.extra.encode()).decode()
                if row.is_extra_encrypted
                else encrypt(env, row.extra)
            )
            row.is_extra_encrypted = True
        n += 1
    return {"connections": n, "variables": rotate_variables(env, session)}


def test_connection(data: dict[str, Any]) -> tuple[bool, str]:
    """Try to reach the system a connection points at; return (ok, message)."""
    conn = ConnectionInfo.from_dict(data)
    try:
        if conn.conn_type in ("sqlite", "postgres", "mysql", "mariadb"):
            from tradewind.hooks.sql import SqlHook

            SqlHook(connection=conn).get_first("SELECT 1")
            return True, "Connection successfully tested"
        if conn.conn_type in ("http", "https"):
            from tradewind.hooks.http import HttpHook

            response = HttpHook(method="GET", connection=conn).run("")
            return True, f"HTTP {response.status_code}"
        if conn.conn_type in ("fs", "file"):
            from tradewind.hooks.filesystem import FSHook

            path = FSHook(connection=conn).get_path()
            return (
                (True, f"{path} exists")
                if FSHook(connection=conn).exists(path)
                else (False, f"{path} does not exist")
            )
    except Exception as exc:  # noqa: BLE001 - any failure is the answer of the test
        from tradewind.core.masking import add_secret, redact

        add_secret(conn.password)
        return False, redact(f"{type(exc).__name__}: {exc}")
    return False, f"testing connections of type {conn.conn_type!r} is not supported"
