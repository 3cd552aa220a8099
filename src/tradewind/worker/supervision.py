"""One supervisor of a try: its deadline, its heartbeats, stopping it, and why it was lost.

Three places watch a running try (the local executor's worker, a Celery pool process's
watchdog thread, a forked Celery try's parent); each feeds :class:`TryWatch` what it sees (the
claim succeeded, the outcome is being reported, the process ended) and asks it when to look
again. The decisions are written once here, with the clock and the way to stop the try passed
in, so they are tested without sleeping.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

from tradewind.core.execution import Workload

#: A try past its ``execution_timeout`` raises in its own code first (SIGALRM); the supervisor
#: steps in only this much later.
TIMEOUT_GRACE = 5.0
#: How long a stopped try has to run ``on_kill`` and end before it is killed.
KILL_GRACE = 2.0
INF = float("inf")
#: The exit code of a try's process whose execution-API calls failed (TryLost): lost, not failed.
EXIT_LOST = 75


def term_child(signum: int, frame: Any) -> None:
    """SIGTERM handler of a try's process: unwind as SystemExit, so ``on_kill`` runs."""
    raise SystemExit(f"task process received signal {signum}")


class TryWatch:
    """Supervise one try.

    Args:
        workload: the try.
        kill: stops the try, given the reason (SIGTERM then SIGKILL, or SIGTERM to itself).
        heartbeat: sends one heartbeat; returns why the try must stop, or None. None when the
            caller vouches for liveness itself (the local executor).
        every: seconds between heartbeats.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        workload: Workload,
        *,
        kill: Callable[[str], None],
        heartbeat: Callable[[], str | None] | None = None,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.w = workload
        self.kill = kill
        self.beat = heartbeat
        self.every = max(every, 0.1)
        self.clock = clock
        self.started = clock()
        self.claimed_at: float | None = None
        self.last_heartbeat = 0.0
        self.reporting = False
        self.stop_reason: str | None = None

    # -- what the caller tells it -----------------------------------------------------------
    def claimed(self) -> None:
        """The claim succeeded: heartbeats start now."""
        if self.claimed_at is None:
            self.claimed_at = self.clock()

    def reporting_outcome(self) -> None:
        """The try is reporting its outcome: no more heartbeats (one would see the new state,
        answer "stop" and kill a try that did nothing wrong)."""
        self.reporting = True

    # -- what it decides --------------------------------------------------------------------
    @property
    def deadline(self) -> float:
        timeout = self.w.timeout
        return self.started + timeout + TIMEOUT_GRACE if timeout else INF

    def next_due(self) -> float:
        """When to look at the try again (clock seconds; INF: only when something happens)."""
        return min(self._next_beat(), self.deadline)

    def _next_beat(self) -> float:
        if self.beat is None or self.claimed_at is None or self.reporting:
            return INF
        return max(self.claimed_at, self.last_heartbeat) + self.every

    def wait(self) -> float | None:
        """Seconds until :meth:`next_due` (None: no timer), for ``select``/``Condition.wait``."""
        due = self.next_due()
        return None if due == INF else max(due - self.clock(), 0.0)

    def tick(self) -> bool:
        """Act on what is due now (the deadline, a heartbeat); True when the try was stopped."""
        if self.stop_reason is not None:
            return True
        now = self.clock()
        if now >= self.deadline:
            self.stop(f"the task exceeded its execution_timeout of {self.w.timeout:g} s")
            return True
        if self.beat is not None and now >= self._next_beat():
            self.last_heartbeat = now
            reason = self.beat()
            if reason:
                self.stop(reason)
                return True
        return False

    def stop(self, reason: str) -> None:
        """Stop the try (once), remembering why."""
        if self.stop_reason is None:
            self.stop_reason = reason
            self.kill(reason)

    def lost_reason(self, status: int) -> str | None:
        """Why a try whose process ended with wait ``status`` did not report its outcome:
        None when it ended normally and nobody stopped it."""
        code = os.waitstatus_to_exitcode(status)
        if code == 0 and self.stop_reason is None:
            return None
        if self.stop_reason:
            return self.stop_reason
        if code == EXIT_LOST:
            return "it could not reach the execution API"
        return f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
