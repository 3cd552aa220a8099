"""Tradewind: write workflows as Python DAGs; schedule, run and watch them.

This module is the authoring API only. It stays light (no SQLAlchemy, FastAPI, Celery or
click) so that importing it from a DAG file costs milliseconds.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "DAG",
    "Asset",
    "AssetAlias",
    "Dataset",
    "Metadata",
    "Param",
    "TaskGroup",
    "__version__",
    "chain",
    "cross_downstream",
    "dag",
    "task",
]

_LAZY = {
    "DAG": ("tradewind.sdk.dag", "DAG"),
    "dag": ("tradewind.sdk.dag", "dag"),
    "task": ("tradewind.sdk.decorators", "task"),
    "TaskGroup": ("tradewind.sdk.taskgroup", "TaskGroup"),
    "Param": ("tradewind.sdk.param", "Param"),
    "Asset": ("tradewind.sdk.assets", "Asset"),
    "Dataset": ("tradewind.sdk.assets", "Asset"),
    "AssetAlias": ("tradewind.sdk.assets", "AssetAlias"),
    "Metadata": ("tradewind.sdk.asset_events", "Metadata"),
    "chain": ("tradewind.sdk.baseoperator", "chain"),
    "cross_downstream": ("tradewind.sdk.baseoperator", "cross_downstream"),
}


def __getattr__(name: str) -> Any:
    """Import the authoring API on first use, so ``import tradewind`` itself is instant."""
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'tradewind' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
