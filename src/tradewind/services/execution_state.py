"""Execution-API calls for Airflow 3.3's state store in task code.

``task_state_store`` keys belong to the calling task instance (its DAG, run, task and map
index, so they outlive a failed try); ``asset_state_store[asset]`` keys belong to an asset the
calling task names in its ``inlets`` or ``outlets``. The store is the one the REST API shows
(:mod:`tradewind.services.state_store`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.errors import NotFound, PermissionDenied
from tradewind.metastore.tables import AssetModel, TaskInstance
from tradewind.services import state_store as store
from tradewind.services.env import Env

#: The method names every transport must forward.
STATE_METHODS = ("state_get", "state_set", "state_delete")


class ExecutionStateStore:
    """Mixin of the state-store calls; needs ``self.env``, ``_check_ext`` and ``_sdag``."""

    env: Env

    def _check_ext(self, ti_id: int, token: str, *, read: bool = False) -> int:
        raise NotImplementedError

    def _sdag(self, session: Session, dag_id: str, version: str | None) -> Any:
        raise NotImplementedError

    def _owner(
        self, s: Session, ti_id: int, scope: str, asset_uri: str | None, create: bool = False
    ) -> dict[str, Any] | None:
        ti = s.get(TaskInstance, ti_id)
        if ti is None:
            raise NotFound(f"task instance {ti_id} not found")
        if scope == "task":
            return store.task_owner(ti.dag_id, ti.run_id, ti.task_id, ti.map_index)
        if scope != "asset" or not asset_uri:
            raise NotFound("a state store is of scope 'task', or 'asset' with an asset URI")
        task = self._sdag(s, ti.dag_id, ti.dag_version).tasks.get(ti.task_id)
        named = set(getattr(task, "data", {}).get("inlets") or ()) | set(
            getattr(task, "data", {}).get("outlets") or ()
        )
        if asset_uri not in named:
            raise PermissionDenied(
                f"task {ti.task_id} names no asset {asset_uri!r} in its inlets or outlets"
            )
        asset_id = s.scalar(select(AssetModel.id).where(AssetModel.uri == asset_uri))
        if asset_id is None:  # named only as an inlet so far: known from its first write
            if not create:
                return None
            now = self.env.now()
            row = AssetModel(
                uri=asset_uri, name=asset_uri, group="asset", extra={}, created_at=now,
                updated_at=now,
            )  # fmt: skip
            s.add(row)
            s.flush()
            asset_id = row.id
        return store.asset_owner(asset_id)

    def state_get(
        self, ti_id: int, token: str, scope: str, key: str, asset_uri: str | None = None
    ) -> dict[str, Any]:
        """Answer ``{"found": bool, "value": ...}`` (an expired key is not found)."""
        self._check_ext(ti_id, token, read=True)
        with self.env.db.session(readonly=True) as s:
            owner = self._owner(s, ti_id, scope, asset_uri)
            row = store.get_entry(s, owner, key, self.env.now()) if owner is not None else None
            return {"found": row is not None, "value": row.value if row is not None else None}

    def state_set(
        self,
        ti_id: int,
        token: str,
        scope: str,
        key: str,
        asset_uri: str | None = None,
        value: Any = None,
        expiry: str = "default",
    ) -> None:
        """Create or overwrite ``key``; ``expiry``: ``default``, ``never`` or seconds."""
        self._check_ext(ti_id, token)
        now = self.env.now()
        with self.env.db.session() as s:
            owner = self._owner(s, ti_id, scope, asset_uri, create=True)
            assert owner is not None
            store.set_entry(s, owner, key, value, now, self._expires(now, expiry))

    def state_delete(
        self, ti_id: int, token: str, scope: str, key: str, asset_uri: str | None = None
    ) -> None:
        """Remove ``key`` (nothing to remove is fine)."""
        self._check_ext(ti_id, token)
        with self.env.db.session() as s:
            owner = self._owner(s, ti_id, scope, asset_uri)
            if owner is not None:
                store.delete_entries(s, owner, key)

    def _expires(self, now: datetime, expiry: str) -> datetime | None:
        if expiry == "never":
            return None
        if expiry == "default":
            days = self.env.settings.values.get("state_store", {}).get("default_retention_days")
            return now + timedelta(days=float(days)) if days not in (None, "") else None
        try:
            return now + timedelta(seconds=float(expiry))
        except ValueError:
            raise NotFound(
                f"expiry must be 'default', 'never' or seconds, got {expiry!r}"
            ) from None
