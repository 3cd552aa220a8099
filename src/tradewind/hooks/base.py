"""BaseHook and Connection: how operators reach external systems with stored credentials."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from tradewind.errors import NotFound

_SCHEME_TO_TYPE = {"postgresql": "postgres", "postgres": "postgres", "mariadb": "mysql"}


@dataclass
class Connection:
    """A connection as Airflow defines it; ``password`` is the plain text (worker side only)."""

    conn_id: str
    conn_type: str = ""
    host: str | None = None
    schema: str | None = None
    login: str | None = None
    password: str | None = None
    port: int | None = None
    extra: str | None = None
    description: str | None = None

    @property
    def extra_dejson(self) -> dict[str, Any]:
        """The ``extra`` JSON as a dict (empty when unset or not JSON)."""
        if not self.extra:
            return {}
        try:
            value = json.loads(self.extra)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    @classmethod
    def from_uri(cls, conn_id: str, uri: str) -> Connection:
        """Parse ``postgresql://user:pass@host:5432/db?x=1`` or a JSON object."""
        text = uri.strip()
        if text.startswith("{"):
            data = json.loads(text)
            data.setdefault("conn_id", conn_id)
            return cls.from_dict(data)
        parts = urlsplit(text)
        scheme = parts.scheme.split("+", 1)[0]
        conn_type = _SCHEME_TO_TYPE.get(scheme, scheme.replace("-", "_"))
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        extra: Any = json.loads(query.pop("__extra__")) if "__extra__" in query else query
        if conn_type == "sqlite":
            # sqlite:////abs/file.db -> host "/abs/file.db" (Airflow's SqliteHook reads host).
            return cls(
                conn_id,
                "sqlite",
                # Airflow's own form puts the (percent-encoded) path in the host part:
                # sqlite://%2Fabs%2Ffile.db -> "/abs/file.db".
                host=(unquote(parts.netloc + parts.path) if parts.netloc else None)
                or unquote(parts.path)[1:]
                or None,
                extra=json.dumps(extra) if extra else None,
            )
        host = unquote(parts.hostname) if parts.hostname else None
        if host and "%2f" in parts.netloc.lower():
            host = unquote(parts.netloc.rsplit("@", 1)[-1].split(":", 1)[0])
        return cls(
            conn_id=conn_id,
            conn_type=conn_type,
            host=host,
            schema=unquote(parts.path[1:]) if parts.path else None,
            login=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            port=parts.port,
            extra=json.dumps(extra) if extra else None,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Connection:
        """Build from a dict with Airflow's field names (``extra`` may be a dict)."""
        extra = data.get("extra")
        if isinstance(extra, dict):
            extra = json.dumps(extra)
        port = data.get("port")
        return cls(
            conn_id=str(data["conn_id"]),
            conn_type=str(data.get("conn_type") or ""),
            host=data.get("host"),
            schema=data.get("schema"),
            login=data.get("login"),
            password=data.get("password"),
            port=int(port) if port not in (None, "") else None,
            extra=extra or None,
            description=data.get("description"),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def get_uri(self) -> str:
        """Return the connection as an Airflow-style URI (the inverse of :meth:`from_uri`)."""
        scheme = self.conn_type.replace("_", "-")
        if self.conn_type == "sqlite":
            uri = f"sqlite:///{self.host or ''}"
        else:
            auth = ""
            if self.login or self.password:
                auth = quote(self.login or "", safe="")
                if self.password:
                    auth += ":" + quote(self.password, safe="")
                auth += "@"
            host = quote(self.host or "", safe="")
            port = f":{self.port}" if self.port else ""
            schema = "/" + quote(self.schema, safe="") if self.schema else ""
            uri = f"{scheme}://{auth}{host}{port}{schema}"
        extra = self.extra_dejson
        if extra:
            flat = all(isinstance(v, str) for v in extra.values())
            uri += "?" + (urlencode(extra) if flat else urlencode({"__extra__": json.dumps(extra)}))
        return uri

    def __repr__(self) -> str:
        # Never show the password, not even in a debugger or a log line.
        return f"Connection(conn_id={self.conn_id!r}, conn_type={self.conn_type!r}, host={self.host!r})"


def mask_connection(data: dict[str, Any]) -> None:
    """Mask a connection's secrets in task logs: its password in every encoding, its URI."""
    from tradewind.core.masking import add_connection

    try:
        uri = Connection.from_dict(data).get_uri() if data.get("password") else None
    except (KeyError, TypeError, ValueError):
        uri = None
    add_connection(data, uri)


def env_connection(conn_id: str) -> Connection | None:
    """Return the connection defined by ``TRADEWIND_CONN_<ID>`` (or ``AIRFLOW_CONN_<ID>``)."""
    for prefix in ("TRADEWIND_CONN_", "AIRFLOW_CONN_"):
        raw = os.environ.get(prefix + conn_id.upper())
        if raw:
            conn = Connection.from_uri(conn_id, raw)
            if conn.password:
                from tradewind.core.masking import add_secret

                add_secret(raw)  # the URI as the user wrote it
            return conn
    return None


class BaseHook:
    """Base of hooks: find a connection by id (the running task's, or the environment's)."""

    conn_name_attr = "conn_id"
    default_conn_name = "default"
    conn_type = ""
    hook_name = ""

    @classmethod
    def get_connection(cls, conn_id: str) -> Connection:
        """Return the connection ``conn_id``; raise NotFound when no source defines it.

        Inside a task the execution API is asked (environment variables first, then the
        metastore); outside a task only ``TRADEWIND_CONN_<ID>`` is read.
        """
        from tradewind.sdk.execution_context import current_ti

        ti = current_ti()
        if ti is not None:
            data = ti.get_connection(conn_id)
            if data is not None:
                return Connection.from_dict(data)
        conn = env_connection(conn_id)
        if conn is None:
            raise NotFound(f"the connection {conn_id!r} is not defined")
        mask_connection(conn.to_dict())
        return conn

    def get_conn(self) -> Any:
        """Return a client of the external system (subclasses implement it)."""
        raise NotImplementedError
