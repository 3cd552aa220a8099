"""Airflow 3.3's state store in task code: ``task_state_store`` and ``asset_state_store``.

Small JSON values that outlive a try: a task instance's (kept across its retries, so a retry
can pick up where the failed try stopped) and an asset's (a watermark shared by the DAGs that
read and write it)::

    @task(retries=2)
    def run_job(task_state_store=None):
        job_id = task_state_store.get("job_id") or submit()
        task_state_store.set("job_id", job_id, retention=NEVER_EXPIRE)

    @task(inlets=[orders], outlets=[orders])
    def load(asset_state_store=None):
        state = asset_state_store[orders]
        state.set("watermark", state.get("watermark", default="2026-01-01") + "...")

Reads and writes go through the try's execution-API transport (the worker holds no database
session); the server keeps them in the same store the REST API shows. ``retention`` is a
``timedelta``, :data:`NEVER_EXPIRE`, or left out for ``[state_store] default_retention_days``
(never, when unset). An asset's store is open to tasks that name the asset in ``inlets`` or
``outlets``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tradewind.sdk.assets import Asset


class _NeverExpire:
    def __repr__(self) -> str:
        return "NEVER_EXPIRE"


#: ``retention=NEVER_EXPIRE``: the entry stays until deleted
NEVER_EXPIRE: Any = _NeverExpire()

#: (method, scope, key, asset uri, value, expiry) -> the answer of the execution API
Call = Callable[..., Any]


def _expiry(retention: Any) -> str:
    """The wire form of ``retention``: ``default``, ``never`` or seconds."""
    if retention is None:
        return "default"
    if retention is NEVER_EXPIRE:
        return "never"
    if isinstance(retention, timedelta):
        return str(retention.total_seconds())
    if isinstance(retention, int | float):
        return str(float(retention))
    raise TypeError(f"retention must be a timedelta or NEVER_EXPIRE, got {retention!r}")


class _Store:
    """One owner's keys (a task instance's, or an asset's)."""

    def __init__(self, call: Call, scope: str, asset_uri: str | None = None) -> None:
        self._call = call
        self._scope = scope
        self._uri = asset_uri

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default`` when unset or expired."""
        answer = self._call("state_get", self._scope, key, self._uri) or {}
        return answer.get("value") if answer.get("found") else default

    def set(self, key: str, value: Any, retention: Any = None) -> None:
        """Create or overwrite ``key`` (a JSON value)."""
        self._call("state_set", self._scope, key, self._uri, value, _expiry(retention))

    def delete(self, key: str) -> None:
        """Remove ``key`` (nothing to remove is fine)."""
        self._call("state_delete", self._scope, key, self._uri)

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.get(key, default)

    async def aset(self, key: str, value: Any, retention: Any = None) -> None:
        self.set(key, value, retention)

    async def adelete(self, key: str) -> None:
        self.delete(key)

    def __repr__(self) -> str:
        return f"<state store of {self._uri or 'this task instance'}>"


class TaskStateStore(_Store):
    """``task_state_store``: the keys of this task instance, kept across its tries."""

    def __init__(self, call: Call) -> None:
        super().__init__(call, "task")


class AssetStateStores:
    """``asset_state_store[asset]``: the keys of an asset the task names in inlets/outlets."""

    def __init__(self, call: Call) -> None:
        self._call = call

    def __getitem__(self, asset: Asset | str) -> _Store:
        uri = asset.uri if isinstance(asset, Asset) else str(asset)
        return _Store(self._call, "asset", uri)


def caller_for(ti: Any) -> Call | None:
    """The execution-API calls of the try's transport, if it has one."""
    client = getattr(ti, "_client", None)
    if client is None:
        return None

    def call(method: str, *args: Any) -> Any:
        return getattr(client, method)(ti.id, ti._token, *args)

    return call
