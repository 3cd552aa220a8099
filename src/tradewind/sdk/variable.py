"""``Variable.get`` for task code, as Airflow's ``Variable`` (read through the execution API)."""

from __future__ import annotations

import json
import os
from typing import Any

from tradewind.errors import TradewindError

_NOTSET: Any = object()


class Variable:
    """Read a stored variable from task code: ``Variable.get("key", default_var=None)``.

    Inside a running task the value comes from the metastore through the execution API (the
    worker holds no database session); elsewhere (DAG-file top level) only from the
    ``TRADEWIND_VAR_<KEY>`` / ``AIRFLOW_VAR_<KEY>`` environment variables.
    """

    @classmethod
    def get(
        cls,
        key: str,
        default_var: Any = _NOTSET,
        deserialize_json: bool = False,
        *,
        default: Any = _NOTSET,
    ) -> Any:
        """The value of ``key``; ``default_var`` (Airflow 2) or ``default`` (3) when missing.

        Raises:
            KeyError: the variable does not exist and no default was given.
        """
        from tradewind.sdk.execution_context import current_ti

        ti = current_ti()
        value = ti.get_variable(key) if ti is not None else None
        if value is None:
            for prefix in ("TRADEWIND_VAR_", "AIRFLOW_VAR_"):
                value = value if value is not None else os.environ.get(prefix + key.upper())
        if value is None:
            fallback = default if default is not _NOTSET else default_var
            if fallback is not _NOTSET:
                return fallback
            raise KeyError(f"Variable {key} does not exist")
        return json.loads(value) if deserialize_json else value

    @classmethod
    def set(cls, key: str, value: Any, *args: Any, **kwargs: Any) -> None:
        """Not available to DAG code: variables are written by users, not by tasks."""
        raise TradewindError(
            f"Variable.set({key!r}) from task code is not supported by Tradewind: set it with "
            "`tradewind variables set`, the REST API or the UI"
        )
