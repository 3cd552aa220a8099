"""Browse > Assets: every asset with the tasks that update it and the DAGs scheduled on it,
and the newest asset events with the runs they started."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from tradewind.core.permissions import Resource
from tradewind.services.queries import Paging
from tradewind.services.queries import assets as aq
from tradewind.ui.auth import env_of, require
from tradewind.ui.rendering import render

router = APIRouter(include_in_schema=False)
PAGE = 50
RECENT_EVENTS = 25


@router.get("/assets", response_class=HTMLResponse)
def assets_page(
    request: Request, q: str = "", dag_id: str = "", page: int = Query(1, ge=1, le=100_000)
) -> HTMLResponse:
    """Assets (filtered by URI text or by a DAG using them) and the newest events."""
    user = require(request, Resource.ASSET)
    flt = aq.AssetFilter(uri_pattern=q.strip() or None, dag_ids=(dag_id,) if dag_id else ())
    with env_of(request).db.session(readonly=True) as session:
        links = aq.asset_links(session)
        found = aq.list_assets(session, flt, Paging(PAGE, (page - 1) * PAGE, ("uri",)), links)
        ids = [a.id for a in found.items]
        consumers = aq.scheduled_dags(session, ids)
        last = aq.last_events(session, ids)
        assets = [
            {
                "asset": a,
                "producers": links.producers.get(a.uri, []),
                "consumers": [r.dag_id for r in consumers.get(a.id, [])],
                "last_event": last.get(a.id),
            }
            for a in found.items
        ]
        recent = aq.list_asset_events(
            session, aq.EventFilter(), Paging(RECENT_EVENTS, 0, ("-timestamp", "-id"))
        ).items
        created = aq.created_runs(session, recent)
        events = [{"event": e, "asset": a, "runs": created.get(e.id, [])} for e, a in recent]
    return render(
        request, "assets.html", user, assets=assets, events=events, q=q, dag_id=dag_id,
        page=page, more=found.total > page * PAGE, total=found.total, title="Assets",
    )  # fmt: skip
