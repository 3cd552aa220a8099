"""Variable and connection rows for the API's admin lists (values decrypted by the caller)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.metastore.tables import Connection, Variable
from tradewind.services.queries.paging import Page, Paging, paged, pattern_clause, prefix_clause

VARIABLE_ORDER = {
    "id": Variable.id,
    "key": Variable.key,
    "description": Variable.description,
    "is_encrypted": Variable.is_encrypted,
}

CONNECTION_ORDER = {
    "id": Connection.id,
    "connection_id": Connection.conn_id,
    "conn_id": Connection.conn_id,
    "conn_type": Connection.conn_type,
    "description": Connection.description,
    "host": Connection.host,
    "port": Connection.port,
}


def list_variable_rows(
    session: Session, pattern: str | None, prefix: str | None, paging: Paging
) -> Page[Variable]:
    """A page of variable rows (values still encrypted)."""
    where: list[Any] = [pattern_clause(Variable.key, pattern), prefix_clause(Variable.key, prefix)]
    return paged(session, select(Variable), where, paging, VARIABLE_ORDER, "id")


def variable_row(session: Session, key: str) -> Variable | None:
    """The stored variable ``key`` (not the environment's), or None."""
    return session.scalar(select(Variable).where(Variable.key == key))


def list_connection_rows(
    session: Session, pattern: str | None, prefix: str | None, paging: Paging
) -> Page[Connection]:
    """A page of connection rows (secrets still encrypted)."""
    where: list[Any] = [
        pattern_clause(Connection.conn_id, pattern),
        prefix_clause(Connection.conn_id, prefix),
    ]
    return paged(session, select(Connection), where, paging, CONNECTION_ORDER, "id")


def connection_row(session: Session, conn_id: str) -> Connection | None:
    """The stored connection ``conn_id``, or None."""
    return session.scalar(select(Connection).where(Connection.conn_id == conn_id))
