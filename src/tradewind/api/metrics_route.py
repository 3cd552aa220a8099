"""``GET /metrics``: the Prometheus text exposition of every Tradewind process on this host.

Authenticated like the other non-public routes (a bearer token or the UI session, with read
access to Cluster Activity), unless ``[metrics] prometheus_public = true`` (then restrict who
can reach the port instead). 404 while ``[metrics] prometheus_on`` is off.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from tradewind.api.deps import requires
from tradewind.core.permissions import Action, Resource
from tradewind.errors import NotFound
from tradewind.settings import Settings

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metrics_router(settings: Settings) -> APIRouter:
    """The ``/metrics`` route, public or not as the settings say."""
    public = bool(settings.get("metrics", "prometheus_public"))
    deps: list[Any] = [] if public else [Depends(requires(Resource.CLUSTER_ACTIVITY, Action.READ))]
    router = APIRouter()

    @router.get("/metrics", dependencies=deps, tags=["Monitor"], include_in_schema=False)
    def prometheus_metrics() -> Response:
        """Every process's metrics, for Prometheus to scrape."""
        from tradewind.observability.setup import prometheus_dir

        if not settings.get("metrics", "prometheus_on"):
            raise NotFound("Prometheus metrics are off: set [metrics] prometheus_on = true")
        from tradewind.observability.prometheus import scrape

        return Response(scrape(prometheus_dir(settings)), media_type=CONTENT_TYPE)

    return router
