"""The executor seam: what the scheduler calls, whatever runs the tasks."""

from __future__ import annotations

from dataclasses import dataclass

from tradewind.core.execution import Workload


@dataclass(frozen=True)
class ExecutorEvent:
    """Something the scheduler must act on: a try whose process died or never started."""

    ti_id: int
    try_number: int
    outcome: str  # an Outcome value: "lost" or "failed"
    message: str
    seq: int | None = None  # the leg of the try (its queueing); None: whichever runs


class BaseExecutor:
    """Base of every executor.

    The scheduler calls :meth:`start` once, :meth:`queue_workloads` with what to run,
    waits on :meth:`filenos` and calls :meth:`poll` when one is readable (or on a timer), and
    :meth:`end` at shutdown. Executors report outcomes; the scheduler decides states.
    """

    name = "BaseExecutor"
    #: True when this executor can vouch for the liveness of its running tasks itself.
    supervises_heartbeats = False
    #: True when :meth:`poll` sets :attr:`changed` for everything that may change what to
    #: schedule: the scheduler then skips its pass after a wake-up that changed nothing.
    reports_changes = False

    def __init__(self, parallelism: int = 32):
        self.parallelism = parallelism
        self.in_flight: dict[int, Workload] = {}
        #: Set by :meth:`poll` when it handled something that may change what to schedule
        #: (an outcome, a freed slot): the scheduler passes again before it sleeps, since
        #: nothing is left readable to wake it.
        self.changed = False
        #: Set by :meth:`poll` when a slot came free and nothing else changed: the scheduler
        #: passes for it only if its last pass ran out of slots (#17).
        self.freed = False

    def start(self) -> None:
        """Start workers or connect to the broker."""

    def queue_workloads(self, workloads: list[Workload]) -> None:
        raise NotImplementedError

    def filenos(self) -> list[int]:
        """File descriptors that become readable when :meth:`poll` has work."""
        return []

    def poll(self) -> list[ExecutorEvent]:
        """Serve pending I/O; return events for the scheduler."""
        return []

    def free_slots(self) -> int:
        if self.parallelism <= 0:
            return 1_000_000
        return max(self.parallelism - len(self.in_flight), 0)

    def alive_ti_ids(self) -> list[int]:
        """Task instances this executor knows to be running in a live process."""
        return []

    def stop_tasks(self, ti_ids: list[int]) -> None:
        """Kill the tries of these task instances (cleared while running)."""

    def end(self, timeout: float = 30.0) -> None:
        """Stop taking work and wait for running tasks, up to ``timeout`` seconds."""

    def terminate(self) -> None:
        """Stop at once, killing what runs."""
