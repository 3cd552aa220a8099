"""``POST /dags/{dag_id}/favorite`` and ``/unfavorite``: each user's favorite DAGs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.core.permissions import Action, Resource
from tradewind.services.favorites import FavoriteService

router = APIRouter(tags=["DAG"])

ReadDag = Annotated[CurrentUser, permission(Resource.DAG, Action.READ)]


@router.post("/dags/{dag_id}/favorite", status_code=204)
def favorite_dag(dag_id: str, env: EnvDep, user: ReadDag) -> Response:
    """Mark a DAG as one of the caller's favorites (again: no change)."""
    FavoriteService(env).add(dag_id, user.username)
    return Response(status_code=204)


@router.post("/dags/{dag_id}/unfavorite", status_code=204)
def unfavorite_dag(dag_id: str, env: EnvDep, user: ReadDag) -> Response:
    """Remove a DAG from the caller's favorites (409 when it was not one)."""
    FavoriteService(env).remove(dag_id, user.username)
    return Response(status_code=204)
