"""Each user's favorite DAGs (``POST /dags/{dag_id}/favorite``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tradewind.errors import Conflict
from tradewind.metastore.tables import DagFavorite


def add_favorite(session: Session, dag_id: str, username: str) -> None:
    """Mark ``dag_id`` as a favorite of ``username`` (again: no change)."""
    if session.get(DagFavorite, (dag_id, username)) is None:
        session.add(DagFavorite(dag_id=dag_id, username=username))


def remove_favorite(session: Session, dag_id: str, username: str) -> None:
    """Unmark it.

    Raises:
        Conflict: it was not a favorite of that user.
    """
    row = session.get(DagFavorite, (dag_id, username))
    if row is None:
        raise Conflict("Dag is not marked as favorite")
    session.delete(row)
