"""Connections: credentials for external systems, encrypted at rest; ``TRADEWIND_CONN_<ID>``."""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.metastore.tables import Connection
from tradewind.services.env import Env
from tradewind.services.variables import fernet


def parse_uri(conn_id: str, uri: str) -> dict[str, Any]:
    """Turn ``postgresql://user:pass@host:5432/db?x=1`` into a connection dict."""
    if uri.lstrip().startswith("{"):
        data = json.loads(uri)
        data.setdefault("conn_id", conn_id)
        return data
    parts = urlsplit(uri)
    conn_type = parts.scheme.replace("-", "_")
    if conn_type == "postgresql":
        conn_type = "postgres"
    extra = dict(parse_qsl(parts.query))
    return {
        "conn_id": conn_id,
        "conn_type": conn_type,
        "host": unquote(parts.hostname) if parts.hostname else None,
        "schema": unquote(parts.path.lstrip("/")) or None,
        "login": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "port": parts.port,
        "extra": json.dumps(extra) if extra else None,
        "description": None,
    }


def get_connection_dict(env: Env, session: Session, conn_id: str) -> dict[str, Any] | None:
    """Return a connection with its password decrypted: the environment first, then the DB."""
    from_env = os.environ.get(f"TRADEWIND_CONN_{conn_id.upper()}")
    if from_env:
        return parse_uri(conn_id, from_env)
    row = session.execute(select(Connection).where(Connection.conn_id == conn_id)).scalar_one_or_none()
    if row is None:
        return None
    f = fernet(env) if (row.is_encrypted or row.is_extra_encrypted) else None
    password = row.password
    if password and row.is_encrypted and f is not None:
        password = f.decrypt(password.encode()).decode()
    extra = row.extra
    if extra and row.is_extra_encrypted and f is not None:
        extra = f.decrypt(extra.encode()).decode()
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
