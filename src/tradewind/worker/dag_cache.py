"""Find the DAG object for a workload: import its file once per process, re-import on change."""

from __future__ import annotations

import os
from typing import Any

from tradewind.core.execution import Workload
from tradewind.core.paths import is_contained
from tradewind.errors import TradewindError
from tradewind.sdk.loader import load_file

_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def resolve_dag(workload: Workload, dags_folder: str | None = None) -> Any:
    """Return the DAG ``workload.dag_id`` from ``workload.fileloc``, importing it if needed."""
    path = workload.fileloc
    if dags_folder and not is_contained(dags_folder, path, follow_symlinks=False):
        # A workload comes through a broker or a pipe: never import a file it names outside
        # the DAGs folder this worker was configured with.
        raise TradewindError(
            f"DAG file {path} of DAG {workload.dag_id!r} is outside the DAGs folder {dags_folder}"
        )
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        raise TradewindError(
            f"DAG file {path} of DAG {workload.dag_id!r} is not readable on this worker"
        ) from None
    cached = _cache.get(path)
    if cached is None or cached[0] != mtime:
        result = load_file(path, dags_folder)
        if result.error:
            raise TradewindError(f"DAG file {path} failed to import on the worker:\n{result.error}")
        cached = (mtime, {d.dag_id: d for d in result.dags})
        _cache[path] = cached
    try:
        return cached[1][workload.dag_id]
    except KeyError:
        raise TradewindError(f"DAG {workload.dag_id!r} is no longer defined in {path}") from None


def preload(path: str, dags_folder: str | None = None) -> None:
    """Import a file ahead of time (warm workers), ignoring errors."""
    try:
        resolve_dag(Workload(0, "", "", "", -1, 0, path, None, ""), dags_folder)
    except TradewindError:
        pass
