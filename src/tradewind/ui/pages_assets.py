"""Browse > Assets: every asset with the tasks that update it and the DAGs scheduled on it,
and the newest asset events with the runs they started."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from tradewind.core.permissions import Resource
from tradewind.services.assets import AssetService
from tradewind.services.queries import Paging
from tradewind.services.queries.assets import AssetFilter
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
    assets, events, total = AssetService(env_of(request)).overview(flt, paging, RECENT_EVENTS)
    return render(
        request, "assets.html", user, assets=assets, events=events, q=q, dag_id=dag_id,
        page=page, more=total > page * PAGE, total=total, title="Assets",
    )  # fmt: skip
