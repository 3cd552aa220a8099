"""Airflow 3's ``@asset``: a function that produces an asset, defined as a one-task DAG.

::

    @asset(uri="s3://bucket/raw", schedule="@daily")
    def raw():
        ...

    @asset(uri="s3://bucket/clean", schedule=raw)
    def clean(self, context, raw):
        context["inlet_events"][raw]

makes the asset ``raw`` (named after the function) and a DAG ``raw`` with one task ``raw``
whose outlet is the asset. The function's parameters are filled by name: ``self`` is the
asset itself, ``context`` the task's context, and any other name is the asset of that name
(defined earlier by ``@asset`` in the same process, else ``Asset(name=...)``), which is also
an inlet of the task.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from tradewind.operators.python import PythonOperator, call_python
from tradewind.sdk.assets import Asset

#: the assets ``@asset`` defined in this process, by name (for the parameters of later ones)
_DEFINED: dict[str, Asset] = {}


class AssetDefinition(Asset):
    """The asset an ``@asset`` function produces (an :class:`Asset` in every other way)."""

    def __init__(self, *, uri: str, name: str, group: str, extra: dict[str, Any] | None):
        super().__init__(uri=uri, name=name, group=group, extra=extra)
        self.dag: Any = None

    def __repr__(self) -> str:
        return f"AssetDefinition({self.uri!r}, name={self.name!r})"


class AssetMainOperator(PythonOperator):
    """The task of an ``@asset`` DAG: calls the function with its parameters by name."""

    def __init__(self, *, definition: AssetDefinition, **kwargs: Any) -> None:
        self._definition = definition
        super().__init__(**kwargs)

    def execute(self, context: dict[str, Any]) -> Any:
        values: dict[str, Any] = {}
        for name in inspect.signature(self.python_callable).parameters:
            if name == "self":
                values[name] = self._definition
            elif name == "context":
                values[name] = context
            else:
                values[name] = _asset_named(name)
        return call_python(self.python_callable, **values)


def _asset_named(name: str) -> Asset:
    return _DEFINED.get(name) or Asset(name=name)


def asset(
    *,
    schedule: Any,
    uri: str | None = None,
    name: str | None = None,
    group: str = "asset",
    extra: dict[str, Any] | None = None,
    **dag_kwargs: Any,
) -> Callable[[Callable[..., Any]], AssetDefinition]:
    """Define an asset and the one-task DAG that produces it (see the module's doc)."""
    from tradewind.sdk.dag import DAG

    def decorate(fn: Callable[..., Any]) -> AssetDefinition:
        asset_name = name or fn.__name__
        definition = AssetDefinition(
            uri=uri or asset_name, name=asset_name, group=group, extra=extra
        )
        inlets = [
            _asset_named(p)
            for p in inspect.signature(fn).parameters
            if p not in ("self", "context")
        ]
        kwargs = {"description": (fn.__doc__ or "").strip() or None, **dag_kwargs}
        with DAG(dag_id=asset_name, schedule=schedule, **kwargs) as dag:
            AssetMainOperator(
                task_id=asset_name,
                python_callable=fn,
                definition=definition,
                outlets=[definition],
                inlets=inlets,
            )
        definition.dag = dag
        _DEFINED[asset_name] = definition
        return definition

    return decorate
