"""``PUT /parseDagFile/{file_token}``: ask the DAG processor to parse a file again."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from tradewind.api.deps import EnvDep, allowed
from tradewind.core.permissions import Action, Resource
from tradewind.errors import NotFound
from tradewind.metastore.tables import DagFile, DagModel
from tradewind.services.event_log import log_event

router = APIRouter(tags=["DAG Parsing"])

EditDag = allowed(Resource.DAG, Action.EDIT)


@router.put("/parseDagFile/{file_token}", status_code=201)
def reparse_dag_file(file_token: str, env: EnvDep, user: EditDag) -> JSONResponse:
    """Mark the file of ``file_token`` (a DAG's ``file_token``) as changed: the DAG
    processor parses it on its next pass, even if its content did not change (201, null)."""
    try:
        fileloc = URLSafeSerializer(env.secret_key).loads(file_token)
    except BadSignature:
        raise NotFound("The file token is not valid for this installation") from None
    with env.db.session() as session:
        known = session.scalar(select(DagModel.dag_id).where(DagModel.fileloc == fileloc).limit(1))
        if known is None:
            raise NotFound(f"No DAG found with fileloc `{fileloc}`")
        row = session.get(DagFile, fileloc)
        if row is not None:
            row.mtime = 0.0
            row.content_hash = ""
        log_event(
            session, "reparse_dag_file", now=env.now(), owner=user.username,
            extra={"fileloc": fileloc},
        )  # fmt: skip
    env.wake()
    return JSONResponse(None, status_code=201)
