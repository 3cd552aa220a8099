"""Airflow's default connections (``airflow connections create-default-connections``), for
the connection types Tradewind's hooks use; only the missing ones are created."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from sqlalchemy.orm import Session

from tradewind.services import connections as conn_service
from tradewind.services.env import Env
from tradewind.services.queries import connection_row


def default_connections() -> list[dict[str, Any]]:
    """The default connections, with Airflow's ids and values."""
    return [
        {"conn_id": "fs_default", "conn_type": "fs", "extra": json.dumps({"path": "/"})},
        {"conn_id": "http_default", "conn_type": "http", "host": "https://www.httpbin.org/"},
        {"conn_id": "local_mysql", "conn_type": "mysql", "host": "localhost",
         "login": "airflow", "password": "airflow", "schema": "airflow"},
        {"conn_id": "mysql_default", "conn_type": "mysql", "host": "mysql", "login": "root",
         "schema": "airflow"},
        {"conn_id": "postgres_default", "conn_type": "postgres", "host": "postgres",
         "login": "postgres", "password": "airflow", "schema": "airflow"},
        {"conn_id": "smtp_default", "conn_type": "smtp", "host": "localhost", "port": 25},
        {"conn_id": "sqlite_default", "conn_type": "sqlite",
         "host": os.path.join(tempfile.gettempdir(), "sqlite_default.db")},
    ]  # fmt: skip


def create_default_connections(env: Env, session: Session) -> list[str]:
    """Store each default connection whose id is not taken; the ids created."""
    created = []
    for data in default_connections():
        if connection_row(session, data["conn_id"]) is None:
            conn_service.add_connection(env, session, data)
            created.append(data["conn_id"])
    return created
