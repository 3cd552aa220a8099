"""Human-in-the-loop details, answered as Airflow answers when there are none.

Tradewind has no HITL operator (``HITLOperator``, ``ApprovalOperator``...), so no task ever
has a HITL detail. The list takes every filter of the 3.3 spec, checked as Airflow checks
them (a bad type or state 422, an unknown ``order_by`` 400), and matches nothing; one task
instance's detail is Airflow's 404, which says whether the task instance itself is missing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.api.v2.params import Limit, Offset, OrderBy
from tradewind.api.v2.routes.task_instances import TI_PATH
from tradewind.api.v2.schemas import BaseSchema, TaskInstanceState
from tradewind.core.permissions import Action, Resource
from tradewind.errors import InvalidInput, NotFound
from tradewind.services.task_instance_service import TaskInstanceService

router = APIRouter(tags=["Task Instance"])

ReadTi = Annotated[CurrentUser, permission(Resource.TASK_INSTANCE, Action.READ)]
EditTi = Annotated[CurrentUser, permission(Resource.TASK_INSTANCE, Action.EDIT)]
_ONE = TI_PATH + "/{task_id}/{map_index}/hitlDetails"
StrList = Annotated[list[str] | None, Query()]

#: ``order_by`` names of Airflow's list (its model's columns and the task instance's).
HITL_ORDER = frozenset({
    "ti_id", "subject", "responded_at", "created_at", "responded_by_user_id",
    "responded_by_user_name", "dag_id", "run_id", "task_display_name", "run_after",
    "rendered_map_index", "task_instance_operator", "task_instance_state",
})  # fmt: skip


class HITLDetailCollection(BaseSchema):
    """Human-in-the-loop details of a run: always none here."""

    hitl_details: list[dict[str, Any]]
    total_entries: int


class UpdateHITLDetailPayload(BaseModel):
    """The answer to a human-in-the-loop task (checked, then 404: there is no such task)."""

    chosen_options: list[str] = Field(min_length=1)
    params_input: dict[str, Any] = Field(default_factory=dict)


def _check(order_by: list[str] | None, state: list[str] | None) -> None:
    for name in order_by or ():
        field = name.lstrip("-")
        if field not in HITL_ORDER:
            raise InvalidInput(
                f"Ordering with '{field}' is disallowed or the attribute does not exist "
                "on the model"
            )
    valid = {s.value for s in TaskInstanceState}
    if any(s not in valid and s not in ("none", "no_status") for s in state or ()):
        # A 422 in the spec's HTTPValidationError shape (a list of errors), as FastAPI's own.
        msg = f"Invalid value for state. Valid values are {', '.join(sorted(valid))}"
        raise RequestValidationError(
            [{"loc": ("query", "state"), "msg": msg, "type": "value_error", "input": state}]
        )


@router.get("/dags/{dag_id}/dagRuns/{dag_run_id}/hitlDetails", response_model=HITLDetailCollection)
def get_hitl_details(
    dag_id: str,
    dag_run_id: str,
    _user: ReadTi,
    limit: Limit = 50,
    offset: Offset = 0,
    order_by: OrderBy = None,
    dag_id_pattern: str | None = None,
    dag_id_prefix_pattern: str | None = None,
    task_id: str | None = None,
    task_id_pattern: str | None = None,
    task_id_prefix_pattern: str | None = None,
    map_index: int | None = None,
    state: StrList = None,
    response_received: bool | None = None,
    responded_by_user_id: StrList = None,
    responded_by_user_name: StrList = None,
    subject_search: str | None = None,
    body_search: str | None = None,
    created_at_gte: datetime | None = None,
    created_at_gt: datetime | None = None,
    created_at_lte: datetime | None = None,
    created_at_lt: datetime | None = None,
) -> HITLDetailCollection:
    """Human-in-the-loop details of a run (``~`` for all): none match, whatever the filter."""
    _check(order_by, state)
    return HITLDetailCollection(hitl_details=[], total_entries=0)


def _missing_detail(
    env: Any, dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int | None
) -> NotFound:
    """Airflow's 404: the task instance (or that try of it) is missing, else its detail."""
    try:
        ti, history = TaskInstanceService(env).with_tries(dag_id, run_id, task_id, map_index)
    except NotFound as exc:
        return exc
    tries = {t.try_number for t in history} | {ti.try_number}
    if try_number is not None and try_number not in tries:
        return NotFound(
            f"The Task Instance with dag_id: `{dag_id}`, run_id: `{run_id}`, task_id: "
            f"`{task_id}` and map_index: `{map_index}` was not found"
        )
    return NotFound(f"Human-in-the-loop detail does not exist for Task Instance with id {ti.id}")


@router.get(_ONE)
def get_hitl_detail(
    dag_id: str, dag_run_id: str, task_id: str, map_index: int, env: EnvDep, _user: ReadTi
) -> Any:
    """One task instance's human-in-the-loop detail: 404, there are none."""
    raise _missing_detail(env, dag_id, dag_run_id, task_id, map_index, None)


@router.patch(_ONE)
def update_hitl_detail(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    map_index: int,
    body: UpdateHITLDetailPayload,
    env: EnvDep,
    _user: EditTi,
) -> Any:
    """Answer a human-in-the-loop task: 404, there are none."""
    raise _missing_detail(env, dag_id, dag_run_id, task_id, map_index, None)


@router.get(_ONE + "/tries/{try_number}")
def get_hitl_detail_try_detail(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    map_index: int,
    try_number: int,
    env: EnvDep,
    _user: ReadTi,
) -> Any:
    """A try's human-in-the-loop detail: 404, there are none."""
    raise _missing_detail(env, dag_id, dag_run_id, task_id, map_index, try_number)
