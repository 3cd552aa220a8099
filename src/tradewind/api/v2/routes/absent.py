"""Operations of features Tradewind does not have, answered as Airflow answers when the
feature is absent: external log URLs (no log handler with external links: 400), and the browser login/logout
redirects of the auth manager (to the UI's login page)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.api.v2.routes.task_instances import TI_PATH
from tradewind.api.web_session import clear_session
from tradewind.core.permissions import Action, Resource
from tradewind.errors import InvalidInput
from tradewind.services.task_instance_service import TaskInstanceService

router = APIRouter()

ReadLog = Annotated[CurrentUser, permission(Resource.TASK_LOG, Action.READ)]


@router.get(TI_PATH + "/{task_id}/externalLogUrl/{try_number}", tags=["Task Instance"])
def get_external_log_url(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    try_number: int,
    env: EnvDep,
    _user: ReadLog,
    map_index: int = -1,
) -> Any:
    """A link to the log in an external system: Tradewind's logs are local files (400)."""
    TaskInstanceService(env).with_run(dag_id, dag_run_id, task_id, map_index)
    raise InvalidInput("Task log handler does not support external logs.")


@router.get("/auth/login", status_code=307, tags=["Login"])
def login(next: str | None = None) -> RedirectResponse:
    """Go to the UI's login page (then to ``next``, a path on this site)."""
    if next is not None and (not next.startswith("/") or next.startswith("//") or "\\" in next):
        raise InvalidInput("Invalid or unsafe next URL")
    target = "/login" if next is None else f"/login?next={quote(next, safe='/')}"
    return RedirectResponse(target, status_code=307)


@router.get("/auth/logout", status_code=307, tags=["Login"])
def logout() -> RedirectResponse:
    """End the UI session and go to the login page."""
    response = RedirectResponse("/login", status_code=307)
    clear_session(response)
    return response
