"""Process helpers shared by the supervisors of tries (local and Celery) and the CLI."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import select
import signal
from typing import Any

_PR_SET_PDEATHSIG = 1


_prctl: Any = None


def _libc_prctl() -> Any:
    """libc's ``prctl``, looked up once per process tree (a fork inherits it).

    ``ctypes.util.find_library`` runs ``ldconfig -p`` in a subprocess: 3.5 ms, once per forked
    try on the critical path of every task start (docs/benchmarks.md, #17). The symbols of
    the running program (``dlopen(NULL)``) already hold libc's.
    """
    global _prctl
    if _prctl is None:
        try:
            _prctl = ctypes.CDLL(None, use_errno=True).prctl
        except (AttributeError, OSError):
            name = ctypes.util.find_library("c") or "libc.so.6"
            _prctl = ctypes.CDLL(name, use_errno=True).prctl
    return _prctl


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Ask Linux to send ``signum`` to this process when its parent dies (no orphans)."""
    with contextlib.suppress(Exception):
        _libc_prctl()(_PR_SET_PDEATHSIG, signum)


def stop_child(pid: int, pidfd: int, grace: float) -> None:
    """SIGTERM (the task's ``on_kill`` runs), then SIGKILL if it is still there after ``grace``."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    ready, _, _ = select.select([pidfd], [], [], grace)
    if not ready:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
