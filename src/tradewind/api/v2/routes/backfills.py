"""``/backfills``: create (and dry run), list, get, pause, unpause, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.api.v2 import convert
from tradewind.api.v2 import schemas as s
from tradewind.api.v2.params import Limit, Offset, OrderBy
from tradewind.core.permissions import Action, Resource
from tradewind.services import queries as q
from tradewind.services.backfills import BackfillService

router = APIRouter(tags=["Backfill"])

ReadBackfill = Annotated[CurrentUser, permission(Resource.BACKFILL, Action.READ)]
CreateBackfill = Annotated[CurrentUser, permission(Resource.BACKFILL, Action.CREATE)]
EditBackfill = Annotated[CurrentUser, permission(Resource.BACKFILL, Action.EDIT)]


def _options(body: s.BackfillPostBody) -> dict[str, Any]:
    return {
        "reprocess_behavior": body.reprocess_behavior.value,
        "max_active_runs": body.max_active_runs,
        "run_backwards": body.run_backwards,
        "conf": body.dag_run_conf,
    }


@router.get("/backfills", response_model=s.BackfillCollectionResponse)
def list_backfills(
    dag_id: str,
    env: EnvDep,
    _user: ReadBackfill,
    limit: Limit = 50,
    offset: Offset = 0,
    order_by: OrderBy = None,
) -> s.BackfillCollectionResponse:
    """Backfills of a DAG."""
    paging = q.Paging(limit, offset, tuple(order_by or ("id",)))
    page, names = BackfillService(env).page(dag_id, paging)
    items = [convert.backfill_response(b, names) for b in page.items]
    return s.BackfillCollectionResponse(backfills=items, total_entries=page.total)


@router.post("/backfills", response_model=s.BackfillResponse)
def create_backfill(
    body: s.BackfillPostBody, env: EnvDep, user: CreateBackfill
) -> s.BackfillResponse:
    """Create a backfill: its runs are queued now and the scheduler runs them."""
    row, names = BackfillService(env).start(
        body.dag_id, body.from_date, body.to_date, user=user.username, **_options(body)
    )
    return convert.backfill_response(row, names)


@router.post("/backfills/dry_run")
def create_backfill_dry_run(
    body: s.BackfillPostBody, env: EnvDep, _user: CreateBackfill
) -> dict[str, Any]:
    """The runs a backfill would create or re-run, creating nothing."""
    plan = BackfillService(env).plan(body.dag_id, body.from_date, body.to_date, **_options(body))
    items = [
        {
            "logical_date": convert.aware(p["info"].logical_date).isoformat(),
            "partition_key": None,
            "partition_date": None,
        }
        for p in plan
        if p["action"] in ("create", "clear")
    ]
    if body.run_backwards:
        items.reverse()
    return {"backfills": items, "total_entries": len(items)}


@router.get("/backfills/{backfill_id}", response_model=s.BackfillResponse)
def get_backfill(backfill_id: int, env: EnvDep, _user: ReadBackfill) -> s.BackfillResponse:
    """One backfill."""
    return convert.backfill_response(*BackfillService(env).get(backfill_id))


def _set_paused(env: Any, backfill_id: int, paused: bool) -> s.BackfillResponse:
    return convert.backfill_response(*BackfillService(env).set_paused(backfill_id, paused))


@router.put("/backfills/{backfill_id}/pause", response_model=s.BackfillResponse)
def pause_backfill(backfill_id: int, env: EnvDep, _user: EditBackfill) -> s.BackfillResponse:
    """Stop starting new runs of a backfill."""
    return _set_paused(env, backfill_id, True)


@router.put("/backfills/{backfill_id}/unpause", response_model=s.BackfillResponse)
def unpause_backfill(backfill_id: int, env: EnvDep, _user: EditBackfill) -> s.BackfillResponse:
    """Resume a paused backfill."""
    return _set_paused(env, backfill_id, False)


@router.put("/backfills/{backfill_id}/cancel", response_model=s.BackfillResponse)
def cancel_backfill(backfill_id: int, env: EnvDep, _user: EditBackfill) -> s.BackfillResponse:
    """Cancel a backfill: its runs not yet started are failed."""
    return convert.backfill_response(*BackfillService(env).cancel(backfill_id))
