"""Ask the DAG processor to parse a file again (``PUT /parseDagFile/{file_token}``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.errors import NotFound
from tradewind.metastore.tables import DagFile, DagModel
from tradewind.services.env import Env
from tradewind.services.event_log import log_event


def request_reparse(session: Session, fileloc: str) -> None:
    """Reset the file's stored fingerprint, so the next pass parses it even if unchanged.

    Raises:
        NotFound: no DAG comes from that file.
    """
    known = session.scalar(select(DagModel.dag_id).where(DagModel.fileloc == fileloc).limit(1))
    if known is None:
        raise NotFound(f"No DAG found with fileloc `{fileloc}`")
    row = session.get(DagFile, fileloc)
    if row is not None:
        row.mtime = 0.0
        row.content_hash = ""


class ReparseService:
    """Re-parse requests, bound to the environment; each call is one transaction."""

    def __init__(self, env: Env):
        self.env = env

    def request(self, fileloc: str, *, user: str | None = None) -> None:
        """Have the DAG processor parse ``fileloc`` on its next pass (event-logged with
        ``user``), and wake the schedulers; raise NotFound when no DAG comes from it."""
        with self.env.db.session() as session:
            request_reparse(session, fileloc)
            log_event(
                session, "reparse_dag_file", now=self.env.now(), owner=user,
                extra={"fileloc": fileloc},
            )  # fmt: skip
        self.env.wake()
