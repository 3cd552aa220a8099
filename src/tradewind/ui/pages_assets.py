"""Browse > Assets: every asset with the tasks that update it and the DAGs scheduled on it,
and the newest asset events with the runs they started."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from tradewind.core.permissions import Resource
from tradewind.services.assets import AssetService
from tradewind.services.queries import Paging
from tradewind.services.queries.assets import AssetFilter, EventFilter
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
    flt = AssetFilter(uri_pattern=q.strip() or None, dag_ids=(dag_id,) if dag_id else ())
    paging = Paging(PAGE, (page - 1) * PAGE, ("uri",))
    service = AssetService(env_of(request))
    found = service.page(flt, paging)
    newest = service.events(EventFilter(), Paging(RECENT_EVENTS, 0, ("-timestamp", "-id")))
    assets = [
        {
            "asset": a,
            "producers": found.links.producers.get(a.uri, []),
            "consumers": [r.dag_id for r in found.consumers.get(a.id, [])],
            "last_event": found.last.get(a.id),
        }
        for a in found.items
    ]
    events = [
        {"event": e, "asset": a, "runs": newest.created.get(e.id, [])} for e, a in newest.items
    ]
    total = found.total
    return render(
        request, "assets.html", user, assets=assets, events=events, q=q, dag_id=dag_id,
        page=page, more=total > page * PAGE, total=total, title="Assets",
    )  # fmt: skip
