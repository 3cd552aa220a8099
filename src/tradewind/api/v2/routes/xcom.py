"""XCom entries of a task instance (``~`` for any DAG, run or task in the list)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import Field, JsonValue

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.api.v2 import convert
from tradewind.api.v2 import schemas as s
from tradewind.api.v2.list_filters import XcomFilters
from tradewind.api.v2.params import Limit, Offset, OrderBy
from tradewind.api.v2.routes.task_instances import TI_PATH
from tradewind.core.permissions import Action, Resource
from tradewind.services import queries as q
from tradewind.services.xcom import XComService

router = APIRouter(tags=["XCom"])

ReadXcom = Annotated[CurrentUser, permission(Resource.XCOM, Action.READ)]
CreateXcom = Annotated[CurrentUser, permission(Resource.XCOM, Action.CREATE)]
EditXcom = Annotated[CurrentUser, permission(Resource.XCOM, Action.EDIT)]
DeleteXcom = Annotated[CurrentUser, permission(Resource.XCOM, Action.DELETE)]

XCOM_PATH = TI_PATH + "/{task_id}/xcomEntries"


class XComCreateBody(s.StrictBaseSchema):
    """Body of ``POST .../xcomEntries``."""

    key: str = Field(min_length=1, max_length=512)
    value: JsonValue
    map_index: int = -1


class XComUpdateBody(s.StrictBaseSchema):
    """Body of ``PATCH .../xcomEntries/{xcom_key}``."""

    value: JsonValue
    map_index: int = -1


class XComResponseString(s.XComResponse):
    """An XCom entry with its value as a string (``stringify=true``)."""

    value: str | None


@router.get(XCOM_PATH, response_model=s.XComCollectionResponse)
def get_xcom_entries(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    env: EnvDep,
    _user: ReadXcom,
    xcom_key: str | None = None,
    map_index: int | None = None,
    xcom_key_pattern: str | None = None,
    run_id_pattern: str | None = None,
    task_id_pattern: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
    order_by: OrderBy = None,
    extra: XcomFilters = [],  # noqa: B006 - FastAPI fills it
) -> s.XComCollectionResponse:
    """XCom entries (without their values)."""
    patterns = {
        "xcom_key_pattern": xcom_key_pattern,
        "run_id_pattern": run_id_pattern,
        "task_id_pattern": task_id_pattern,
    }
    where = list(q.xcom_conditions(dag_id, dag_run_id, task_id, xcom_key, map_index, patterns))
    where += list(extra)
    paging = q.Paging(limit, offset, tuple(order_by or ("dag_id",)))
    page, names = XComService(env).page(where, paging)
    items = [s.XComResponse(**convert.xcom_fields(x, run, names)) for x, run in page.items]
    return s.XComCollectionResponse(xcom_entries=items, total_entries=page.total)


@router.get(XCOM_PATH + "/{xcom_key}", response_model=s.XComResponseNative | XComResponseString)
def get_xcom_entry(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    xcom_key: str,
    env: EnvDep,
    _user: ReadXcom,
    map_index: int = -1,
    deserialize: bool = False,
    stringify: bool = False,
) -> Any:
    """One XCom entry with its value (JSON, or a string with ``stringify``)."""
    row, run, names = XComService(env).entry(dag_id, dag_run_id, task_id, xcom_key, map_index)
    fields = convert.xcom_fields(row, run, names)
    value = convert.xcom_value(row.value)
    if stringify:
        return XComResponseString(**fields, value=value if isinstance(value, str) else row.value)
    return s.XComResponseNative(**fields, value=value)


def _native(found: tuple[Any, Any, dict[str, str]]) -> s.XComResponseNative:
    row, run, names = found
    return s.XComResponseNative(
        **convert.xcom_fields(row, run, names), value=convert.xcom_value(row.value)
    )


@router.post(XCOM_PATH, status_code=201, response_model=s.XComResponseNative)
def create_xcom_entry(
    dag_id: str, dag_run_id: str, task_id: str, body: XComCreateBody, env: EnvDep, user: CreateXcom
) -> Any:
    """Create an XCom entry by hand (409 if it exists)."""
    return _native(
        XComService(env).write(
            dag_id,
            dag_run_id,
            task_id,
            body.key,
            body.value,
            body.map_index,
            create=True,
            user=user.username,
        )  # fmt: skip
    )


@router.patch(XCOM_PATH + "/{xcom_key}", response_model=s.XComResponseNative)
def update_xcom_entry(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    xcom_key: str,
    body: XComUpdateBody,
    env: EnvDep,
    user: EditXcom,
) -> Any:
    """Replace an XCom entry's value."""
    return _native(
        XComService(env).write(
            dag_id,
            dag_run_id,
            task_id,
            xcom_key,
            body.value,
            body.map_index,
            create=False,
            user=user.username,
        )  # fmt: skip
    )


@router.delete(XCOM_PATH + "/{xcom_key}", status_code=204)
def delete_xcom_entry(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    xcom_key: str,
    env: EnvDep,
    user: DeleteXcom,
    map_index: int = -1,
) -> Response:
    """Delete an XCom entry."""
    XComService(env).delete(dag_id, dag_run_id, task_id, xcom_key, map_index, user=user.username)
    return Response(status_code=204)
