"""``PUT /parseDagFile/{file_token}``: ask the DAG processor to parse a file again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from itsdangerous import BadSignature, URLSafeSerializer

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.core.permissions import Action, Resource
from tradewind.errors import NotFound
from tradewind.services.reparse import ReparseService

router = APIRouter(tags=["DAG Parsing"])

EditDag = Annotated[CurrentUser, permission(Resource.DAG, Action.EDIT)]


@router.put("/parseDagFile/{file_token}", status_code=201)
def reparse_dag_file(file_token: str, env: EnvDep, user: EditDag) -> JSONResponse:
    """Mark the file of ``file_token`` (a DAG's ``file_token``) as changed: the DAG
    processor parses it on its next pass, even if its content did not change (201, null)."""
    try:
        fileloc = URLSafeSerializer(env.secret_key).loads(file_token)
    except BadSignature:
        raise NotFound("The file token is not valid for this installation") from None
    ReparseService(env).request(fileloc, user=user.username)
    return JSONResponse(None, status_code=201)
