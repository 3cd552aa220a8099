"""The 3.3 spec's extra filters of each list endpoint, as FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from tradewind.api.v2.filters import filters
from tradewind.services.queries import list_filters as lf

RunFilters = Annotated[list[Any], Depends(filters(lf.RUN_FILTERS))]
TiFilters = Annotated[list[Any], Depends(filters(lf.TI_FILTERS))]
DagFilters = Annotated[list[Any], Depends(filters(lf.DAG_FILTERS))]
XcomFilters = Annotated[list[Any], Depends(filters(lf.XCOM_FILTERS))]
EventLogFilters = Annotated[list[Any], Depends(filters(lf.EVENT_LOG_FILTERS))]
ImportErrorFilters = Annotated[list[Any], Depends(filters(lf.IMPORT_ERROR_FILTERS))]
