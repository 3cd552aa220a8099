"""The connections' use cases, bound to the environment (REST API, UI and CLI call these).

Each call is one transaction; a change made by a user is event-logged. What leaves here to be
shown has its password and secret-looking extras masked (``***``); only ``resolve`` and
``export`` give secrets in clear, for a task or a file the operator asked for.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tradewind.errors import NotFound
from tradewind.metastore.tables import Connection
from tradewind.services import connections as ops
from tradewind.services.env import Env
from tradewind.services.event_log import log_change
from tradewind.services.variables import decrypt

#: The fields a front end may show, besides the id (``connection_id`` in the REST API).
SHOWN = ("conn_type", "description", "host", "login", "schema", "port", "password", "extra")


class ConnectionService:
    """Add, change, delete, list, export and import connections; test one."""

    def __init__(self, env: Env):
        self.env = env

    def _shown(self, row: Connection) -> dict[str, Any]:
        """A stored row as it may be shown: the password is never decrypted, only masked."""
        extra = row.extra
        if extra and row.is_extra_encrypted:
            extra = decrypt(self.env, extra)
        data = {name: getattr(row, name) for name in SHOWN if name not in ("password", "extra")}
        return ops.masked(
            {**data, "conn_id": row.conn_id, "password": row.password, "extra": extra}
        )

    @staticmethod
    def _missing(conn_id: str) -> NotFound:
        return NotFound(f"The Connection with connection_id: `{conn_id}` was not found")

    def _stored_row(self, session: Any, conn_id: str) -> Connection:
        row = session.scalar(select(Connection).where(Connection.conn_id == conn_id))
        if row is None:
            raise self._missing(conn_id)
        return row  # type: ignore[no-any-return]

    def page(
        self, paging: Any, pattern: str | None = None, prefix: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """One page (``services.queries.Paging``) of the stored connections, and their total."""
        from tradewind.services.queries.admin import list_connection_rows

        with self.env.db.session(readonly=True) as session:
            found = list_connection_rows(session, pattern, prefix, paging)
            return [self._shown(row) for row in found.items], found.total

    def browse(self, limit: int, offset: int) -> tuple[list[dict[str, Any]], bool]:
        """Connections by id without password or extra (``has_password`` says if one is set)."""
        from tradewind.services.ui_queries import list_connections

        with self.env.db.session(readonly=True) as session:
            return list_connections(session, limit=limit, offset=offset)

    def shown(self, conn_id: str) -> dict[str, Any]:
        """A stored connection, masked; raise NotFound."""
        with self.env.db.session(readonly=True) as session:
            return self._shown(self._stored_row(session, conn_id))

    def resolve(self, conn_id: str) -> dict[str, Any] | None:
        """A connection in clear as a task gets it: ``TRADEWIND_CONN_<ID>`` first, then the
        metastore; None when neither has it."""
        with self.env.db.session(readonly=True) as session:
            return ops.get_connection_dict(self.env, session, conn_id)

    def everything(self) -> list[dict[str, Any]]:
        """Every stored connection, masked, by id."""
        with self.env.db.session(readonly=True) as session:
            return [ops.masked(data) for data in ops.list_connections(self.env, session)]

    def create(self, data: dict[str, Any], *, user: str | None = None) -> dict[str, Any]:
        """Add a connection (``data`` has ``conn_id``); raise AlreadyExists; return it masked."""
        with self.env.db.session() as session:
            ops.add_connection(self.env, session, data)
            log_change(self.env, session, "connection_create", user, {"conn_id": data["conn_id"]})
            session.flush()
            return self._shown(self._stored_row(session, data["conn_id"]))

    def update(
        self, conn_id: str, changes: dict[str, Any], *, user: str | None = None
    ) -> dict[str, Any]:
        """Change some fields of a stored connection; raise NotFound; return it masked."""
        with self.env.db.session() as session:
            self._stored_row(session, conn_id)
            ops.update_connection(self.env, session, conn_id, changes)
            log_change(self.env, session, "connection_edit", user, {"conn_id": conn_id})
            session.flush()
            return self._shown(self._stored_row(session, conn_id))

    def delete(self, conn_id: str, *, user: str | None = None) -> None:
        """Delete a stored connection; raise NotFound."""
        with self.env.db.session() as session:
            self._stored_row(session, conn_id)
            ops.delete_connection(session, conn_id)
            log_change(self.env, session, "connection_delete", user, {"conn_id": conn_id})

    def create_defaults(self, *, user: str | None = None) -> list[str]:
        """Add Airflow's default connections whose ids are free; return their ids."""
        from tradewind.services.default_connections import create_default_connections

        with self.env.db.session() as session:
            created = create_default_connections(self.env, session)
            log_change(self.env, session, "connection_create_defaults", user, {"created": created})
            return created

    def export(self) -> dict[str, dict[str, Any]]:
        """``{conn_id: {fields}}`` of every stored connection, secrets in clear."""
        with self.env.db.session(readonly=True) as session:
            return ops.export_connections(self.env, session)

    def import_(self, data: dict[str, Any], *, overwrite: bool = False) -> tuple[int, list[str]]:
        """Store every connection of ``{conn_id: fields or URI}``; return (added, skipped)."""
        with self.env.db.session() as session:
            return ops.import_connections(self.env, session, data, overwrite=overwrite)

    def rotate_fernet_key(self) -> dict[str, int]:
        """Re-encrypt every connection's and variable's secrets with the newest key."""
        with self.env.db.session() as session:
            return ops.rotate_fernet_key(session, self.env)

    def test(self, data: dict[str, Any]) -> tuple[bool, str]:
        """Try to reach the system ``data`` points at; return (ok, message)."""
        return ops.test_connection(data)

    def enqueue_test(self, data: dict[str, Any], *, save: bool = False) -> tuple[str, str]:
        """Test a connection now and keep the outcome a day under a new token (Airflow's
        asynchronous test); with ``save``, store the connection (replacing it) when the test
        passes. Return the token and the state (``success`` or ``failed``)."""
        import secrets

        from tradewind.services.connection_tests import save_outcome

        ok, message = self.test(data)
        token = secrets.token_urlsafe(24)
        state = "success" if ok else "failed"
        with self.env.db.session() as session:
            if ok and save:
                ops.add_connection(self.env, session, data, overwrite=True)
            outcome = {"connection_id": data["conn_id"], "state": state, "result_message": message,
                       "created_at": self.env.now().isoformat()}  # fmt: skip
            save_outcome(session, token, outcome, self.env.now())
        return token, state

    def test_outcome(self, token: str) -> dict[str, Any] | None:
        """The outcome kept under ``token`` by :meth:`enqueue_test`, if any."""
        from tradewind.services.connection_tests import load_outcome

        with self.env.db.session(readonly=True) as session:
            return load_outcome(session, token)
