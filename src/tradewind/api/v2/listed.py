"""The REST API's shapes of the services' listings (``services.listings``): runs and task
instances with their DAG versions and display names, read by the service with the rows."""

from __future__ import annotations

from typing import Any

from tradewind.api.v2 import convert
from tradewind.api.v2 import schemas as s
from tradewind.services.listings import Labels, Listed


def run_of(run: Any, labels: Labels) -> s.DAGRunResponse:
    """A single run as the API returns it."""
    return convert.run_response(run, labels.versions, labels.names)


def runs_of(listed: Listed[Any]) -> s.DAGRunCollectionResponse:
    """A page of runs as the API returns it."""
    items = [run_of(r, listed.labels) for r in listed.items]
    return s.DAGRunCollectionResponse(dag_runs=items, total_entries=listed.total)


def tis_of(rows: list[tuple[Any, Any]], labels: Labels) -> list[s.TaskInstanceResponse]:
    """``(task instance, run)`` rows as the API returns them."""
    return [convert.ti_response(ti, run, labels.versions, labels.names) for ti, run in rows]
