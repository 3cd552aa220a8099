"""The task instance running in this process, for hooks that need connections or variables."""

from __future__ import annotations

from typing import Any

_current: Any = None


def set_current_ti(ti: Any) -> None:
    """Called by the task runner around ``execute``."""
    global _current
    _current = ti


def current_ti() -> Any:
    """Return the running task instance, or None outside a task."""
    return _current
