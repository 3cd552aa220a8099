"""``/backfills``: create (and dry run), list, get, pause, unpause, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.api.v2 import convert
from tradewind.api.v2 import schemas as s
from tradewind.api.v2.params import Limit, Offset, OrderBy
from tradewind.core.permissions import Action, Resource
from tradewind.services import backfills as bf_service
from tradewind.services import queries as q

router = APIRouter(tags=["Backfill"])

ReadBackfill = Annotated[CurrentUser, permission(Resource.BACKFILL, Action.READ)]
CreateBackfill = Annotated[CurrentUser, permission(Resource.BACKFILL, Action.CREATE)]
EditBackfill = Annotated[CurrentUser, permission(Resource.BACKFILL, Action.EDIT)]


def _one(session: Any, row: Any) -> s.BackfillResponse:
    return convert.backfill_response(row, q.display_names(session, [row.dag_id]))


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
    with env.db.session(readonly=True) as session:
        page = q.list_backfill_rows(session, dag_id, paging)
        names = q.display_names(session, (b.dag_id for b in page.items))
    items = [convert.backfill_response(b, names) for b in page.items]
    return s.BackfillCollectionResponse(backfills=items, total_entries=page.total)


@router.post("/backfills", response_model=s.BackfillResponse)
def create_backfill(
    body: s.BackfillPostBody, env: EnvDep, user: CreateBackfill
) -> s.BackfillResponse:
    """Create a backfill: its runs are queued now and the scheduler runs them."""
    with env.db.session() as session:
        row, _plan = bf_service.create_backfill(
            session,
            body.dag_id,
            body.from_date,
            body.to_date,
            now=env.now(),
            reprocess_behavior=body.reprocess_behavior.value,
            max_active_runs=body.max_active_runs,
            run_backwards=body.run_backwards,
            conf=body.dag_run_conf,
            user=user.username,
        )
        assert row is not None
        session.flush()
        out = _one(session, row)
    env.wake()
    return out


@router.post("/backfills/dry_run")
def create_backfill_dry_run(
    body: s.BackfillPostBody, env: EnvDep, _user: CreateBackfill
) -> dict[str, Any]:
    """The runs a backfill would create or re-run, creating nothing."""
    with env.db.session(readonly=True) as session:
        _row, plan = bf_service.create_backfill(
            session,
            body.dag_id,
            body.from_date,
            body.to_date,
            now=env.now(),
            reprocess_behavior=body.reprocess_behavior.value,
            max_active_runs=body.max_active_runs,
            run_backwards=body.run_backwards,
            conf=body.dag_run_conf,
            dry_run=True,
        )
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
    with env.db.session(readonly=True) as session:
        return _one(session, bf_service.get_backfill(session, backfill_id))


def _set_paused(env: Any, backfill_id: int, paused: bool) -> s.BackfillResponse:
    with env.db.session() as session:
        row = bf_service.set_backfill_paused(session, backfill_id, paused, now=env.now())
        out = _one(session, row)
    env.wake()
    return out


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
    with env.db.session() as session:
        row = bf_service.cancel_backfill(session, backfill_id, now=env.now())
        out = _one(session, row)
    env.wake()
    return out
