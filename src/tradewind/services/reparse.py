"""Ask the DAG processor to parse a file again (``PUT /parseDagFile/{file_token}``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.errors import NotFound
from tradewind.metastore.tables import DagFile, DagModel


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
