"""The task running in this process: its task instance and context (``get_current_context``)."""

from __future__ import annotations

from typing import Any

_current: Any = None
_context: dict[str, Any] | None = None


def set_current_ti(ti: Any, context: dict[str, Any] | None = None) -> None:
    """Called by the task runner around ``execute`` (``None`` once it ends)."""
    global _current, _context
    _current = ti
    _context = context if ti is not None else None


def current_ti() -> Any:
    """Return the running task instance, or None outside a task."""
    return _current


def get_current_context() -> dict[str, Any]:
    """The context of the task running in this process (Airflow's ``get_current_context``).

    Raises:
        TradewindError: called outside a running task (at DAG-file parse time, for example).
    """
    if _context is None:
        from tradewind.errors import TradewindError

        raise TradewindError(
            "get_current_context() was called outside a running task: call it inside a "
            "task's function (or execute), not at the top level of the DAG file"
        )
    return _context
