"""``POST /dags/{dag_id}/favorite`` and ``/unfavorite``: each user's favorite DAGs."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from tradewind.api.deps import EnvDep, allowed
from tradewind.core.permissions import Action, Resource
from tradewind.errors import Conflict
from tradewind.metastore.tables import DagFavorite
from tradewind.services import dags as dag_service

router = APIRouter(tags=["DAG"])

ReadDag = allowed(Resource.DAG, Action.READ)


def favorite_dag_ids(session: object, username: str) -> set[str]:
    """The DAG ids ``username`` marked as favorite."""
    query = select(DagFavorite.dag_id).where(DagFavorite.username == username)
    return set(session.scalars(query))  # type: ignore[attr-defined]


@router.post("/dags/{dag_id}/favorite", status_code=204)
def favorite_dag(dag_id: str, env: EnvDep, user: ReadDag) -> Response:
    """Mark a DAG as one of the caller's favorites (again: no change)."""
    with env.db.session() as session:
        dag_service.get_dag(session, dag_id)
        if session.get(DagFavorite, (dag_id, user.username)) is None:
            session.add(DagFavorite(dag_id=dag_id, username=user.username))
    return Response(status_code=204)


@router.post("/dags/{dag_id}/unfavorite", status_code=204)
def unfavorite_dag(dag_id: str, env: EnvDep, user: ReadDag) -> Response:
    """Remove a DAG from the caller's favorites (409 when it was not one)."""
    with env.db.session() as session:
        dag_service.get_dag(session, dag_id)
        row = session.get(DagFavorite, (dag_id, user.username))
        if row is None:
            raise Conflict("Dag is not marked as favorite")
        session.delete(row)
    return Response(status_code=204)
