"""``/pools``: CRUD with slot usage; ``default_pool`` cannot be deleted or renamed."""

from __future__ import annotations

from operator import attrgetter
from typing import Annotated, Any

from fastapi import APIRouter, Response

from tradewind.api.deps import CurrentUser, EnvDep, UserDep, permission
from tradewind.api.v2 import schemas as s
from tradewind.api.v2.bulk import BulkTarget, check_bulk_permissions, run_bulk
from tradewind.api.v2.params import Limit, Offset, OrderBy, UpdateMask, check_mask
from tradewind.api.v2.schemas_bulk import BulkBody, BulkResponse
from tradewind.core.permissions import Action, Resource
from tradewind.errors import Conflict, InvalidInput, NotFound
from tradewind.services import pools as pool_service
from tradewind.services.bulk import BulkService
from tradewind.services.pools import PoolService
from tradewind.services.queries import Paging

router = APIRouter(tags=["Pool"])

ReadPool = Annotated[CurrentUser, permission(Resource.POOL, Action.READ)]
CreatePool = Annotated[CurrentUser, permission(Resource.POOL, Action.CREATE)]
EditPool = Annotated[CurrentUser, permission(Resource.POOL, Action.EDIT)]
DeletePool = Annotated[CurrentUser, permission(Resource.POOL, Action.DELETE)]

DEFAULT_POOL = "default_pool"
_ORDER = {"id", "name", "pool", "slots"}


def pool_response(info: Any) -> s.PoolResponse:
    """A pool with its slot usage (integers, as the client's strict models want)."""
    deferred = int(info.deferred)
    occupied = int(info.running + info.queued + (deferred if info.include_deferred else 0))
    return s.PoolResponse(
        name=info.name,
        slots=int(info.slots),
        description=info.description or None,
        include_deferred=bool(info.include_deferred),
        occupied_slots=occupied,
        running_slots=int(info.running),
        queued_slots=int(info.queued),
        scheduled_slots=int(info.scheduled),
        open_slots=int(info.open_slots),
        deferred_slots=deferred,
        team_name=None,
    )


def _page(infos: list[Any], pattern: str | None, paging: Paging) -> tuple[list[Any], int]:
    """Filter and page the pools (a handful of rows: done here, not in SQL)."""
    if pattern and pattern != "~":
        parts = [p.lower() for p in pattern.split("|") if p]
        infos = [i for i in infos if any(p in i.name.lower() for p in parts)]
    for name in reversed(paging.order_by):
        field = name.lstrip("-")
        if field not in _ORDER:
            raise InvalidInput(
                f"Ordering with '{field}' is disallowed or the attribute does not exist on the model"
            )
        key = "slots" if field == "slots" else "name"
        infos = sorted(infos, key=attrgetter(key), reverse=name.startswith("-"))
    start = paging.offset
    return infos[start : start + paging.limit], len(infos)


@router.get("/pools", response_model=s.PoolCollectionResponse)
def get_pools(
    env: EnvDep,
    _user: ReadPool,
    limit: Limit = 50,
    offset: Offset = 0,
    order_by: OrderBy = None,
    pool_name_pattern: str | None = None,
    pool_name_prefix_pattern: str | None = None,
) -> s.PoolCollectionResponse:
    """Pools with their slot usage."""
    infos = PoolService(env).everything()
    if pool_name_prefix_pattern and pool_name_prefix_pattern != "~":
        prefixes = tuple(p for p in pool_name_prefix_pattern.split("|") if p)
        infos = [i for i in infos if i.name.startswith(prefixes)]
    items, total = _page(
        infos, pool_name_pattern, Paging(limit, offset, tuple(order_by or ("id",)))
    )
    return s.PoolCollectionResponse(pools=[pool_response(i) for i in items], total_entries=total)


@router.get("/pools/{pool_name}", response_model=s.PoolResponse)
def get_pool(pool_name: str, env: EnvDep, _user: ReadPool) -> s.PoolResponse:
    """One pool."""
    return pool_response(_call(PoolService(env).get, pool_name))


def _call(use_case: Any, name: str, **kwargs: Any) -> Any:
    """A use case on pool ``name``, its NotFound worded as Airflow's REST API does."""
    try:
        return use_case(name, **kwargs)
    except NotFound:
        raise NotFound(f"The Pool with name: `{name}` was not found") from None


def _get(session: Any, name: str) -> Any:
    try:
        return pool_service.get_pool(session, name)
    except NotFound:
        raise NotFound(f"The Pool with name: `{name}` was not found") from None


@router.post("/pools", status_code=201, response_model=s.PoolResponse)
def post_pool(body: s.PoolBody, env: EnvDep, user: CreatePool) -> s.PoolResponse:
    """Create a pool (409 if the name exists)."""
    info = PoolService(env).create(
        body.name,
        body.slots,
        body.description or "",
        include_deferred=body.include_deferred,
        user=user.username,
    )
    return pool_response(info)


@router.patch("/pools/{pool_name}", response_model=s.PoolResponse)
def patch_pool(
    pool_name: str,
    body: s.PoolPatchBody,
    env: EnvDep,
    user: EditPool,
    update_mask: UpdateMask = None,
) -> s.PoolResponse:
    """Change a pool's slots, description or deferred accounting."""
    allowed_fields = {"pool", "name", "slots", "description", "include_deferred"}
    fields = check_mask(update_mask, allowed_fields) or body.model_fields_set
    if body.pool is not None and body.pool != pool_name and fields & {"pool", "name"}:
        raise InvalidInput(
            "Only slots and included_deferred can be modified on Default Pool"
            if pool_name == DEFAULT_POOL
            else "Renaming a pool is not supported; create a new pool instead"
        )
    changes: dict[str, Any] = {}
    if "slots" in fields and body.slots is not None:
        changes["slots"] = body.slots
    if "description" in fields:
        changes["description"] = body.description
    if "include_deferred" in fields and body.include_deferred is not None:
        changes["include_deferred"] = body.include_deferred
    info = _call(PoolService(env).update, pool_name, **changes, user=user.username)
    return pool_response(info)


@router.delete("/pools/{pool_name}", status_code=204)
def delete_pool(pool_name: str, env: EnvDep, user: DeletePool) -> Response:
    """Delete a pool; ``default_pool`` answers 400."""
    if pool_name == DEFAULT_POOL:
        raise InvalidInput("Default Pool can't be deleted")
    try:
        _call(PoolService(env).delete, pool_name, user=user.username)
    except Conflict as exc:
        raise InvalidInput(str(exc)) from None
    return Response(status_code=204)


def _pool_target(env: Any, user: str) -> BulkTarget:
    def exists(session: Any, name: str) -> bool:
        try:
            pool_service.get_pool(session, name)
        except NotFound:
            return False
        return True

    def create(session: Any, body: s.PoolBody) -> None:
        pool_service.set_pool(
            session, body.name, body.slots, body.description or "",
            include_deferred=body.include_deferred, now=env.now(), user=user,
        )  # fmt: skip

    def update(session: Any, body: s.PoolBody, fields: set[str] | None) -> None:
        current = pool_service.get_pool(session, body.name)
        fields = fields or {"slots", "description", "include_deferred"}
        pool_service.set_pool(
            session,
            body.name,
            body.slots if "slots" in fields else current.slots,
            (body.description if "description" in fields else current.description) or "",
            include_deferred=(
                body.include_deferred if "include_deferred" in fields else current.include_deferred
            ),
            now=env.now(),
            user=user,
        )

    def delete(session: Any, name: str) -> None:
        if name == DEFAULT_POOL:
            raise InvalidInput("Default Pool can't be deleted")
        pool_service.delete_pool(session, name, now=env.now(), user=user)

    return BulkTarget(
        noun="pools",
        key_name="names",
        resource=Resource.POOL,
        key_of=lambda body: body.name,
        exists=exists,
        create=create,
        update=update,
        delete=delete,
        check_mask=lambda mask: check_mask(
            mask, {"name", "slots", "description", "include_deferred"}
        ),
    )


@router.patch("/pools", response_model=BulkResponse)
def bulk_pools(body: BulkBody[s.PoolBody], env: EnvDep, user: UserDep) -> BulkResponse:
    """Create, update and delete pools in one request; per action, the names done."""
    check_bulk_permissions(user, body, Resource.POOL)
    return BulkService(env).apply(
        lambda session: run_bulk(session, body, _pool_target(env, user.username)), wake=True
    )
