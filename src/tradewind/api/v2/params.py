"""Query parameters shared by the list endpoints (Airflow's names and defaults)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from tradewind.errors import InvalidInput
from tradewind.services.queries import Paging

Limit = Annotated[int, Query(ge=0, le=10_000, description="How many items per page.")]
Offset = Annotated[int, Query(ge=0, le=2**62, description="How many items to skip.")]
OrderBy = Annotated[
    list[str] | None,
    Query(description="Fields to order by; prefix `-` for descending."),
]
UpdateMask = Annotated[list[str] | None, Query(description="Fields of the body to apply.")]


def paging_dep(default_order: str) -> object:
    """A dependency returning ``Paging`` from ``limit``, ``offset`` and ``order_by``."""

    def paging(limit: Limit = 50, offset: Offset = 0, order_by: OrderBy = None) -> Paging:
        return Paging(limit=limit, offset=offset, order_by=tuple(order_by or (default_order,)))

    return Depends(paging)


def check_mask(update_mask: list[str] | None, allowed: set[str]) -> set[str] | None:
    """The fields named in ``update_mask`` (None: all of the body); 400 for unknown ones."""
    if not update_mask:
        return None
    names = {n.strip() for part in update_mask for n in part.split(",") if n.strip()}
    unknown = sorted(names - allowed)
    if unknown:
        raise InvalidInput(
            f"Invalid update mask: unknown field(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    return names
