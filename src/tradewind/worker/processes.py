"""Process helpers shared by the supervisors of tries (local and Celery) and the CLI."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import select
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Ask Linux to send ``signum`` to this process when its parent dies (no orphans)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signum)


def stop_child(pid: int, pidfd: int, grace: float) -> None:
    """SIGTERM (the task's ``on_kill`` runs), then SIGKILL if it is still there after ``grace``."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    ready, _, _ = select.select([pidfd], [], [], grace)
    if not ready:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
