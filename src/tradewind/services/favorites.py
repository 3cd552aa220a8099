"""Each user's favorite DAGs (``POST /dags/{dag_id}/favorite``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tradewind.errors import Conflict
from tradewind.metastore.tables import DagFavorite
from tradewind.services.dags import get_dag
from tradewind.services.env import Env


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


class FavoriteService:
    """Each user's favorite DAGs, bound to the environment; each call is one transaction."""

    def __init__(self, env: Env):
        self.env = env

    def add(self, dag_id: str, username: str) -> None:
        """Mark a DAG as a favorite of ``username`` (again: no change); raise NotFound."""
        with self.env.db.session() as session:
            get_dag(session, dag_id)
            add_favorite(session, dag_id, username)

    def remove(self, dag_id: str, username: str) -> None:
        """Unmark it; raise NotFound (no such DAG), Conflict (not a favorite)."""
        with self.env.db.session() as session:
            get_dag(session, dag_id)
            remove_favorite(session, dag_id, username)
