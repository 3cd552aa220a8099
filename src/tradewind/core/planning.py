"""Slot planning: which ready task instances to start now, with EASY backfilling per pool.

Pure: the caller hands in a snapshot (ready candidates, what runs, the limits, the time) and
gets back the keys to start, in order. No I/O, no clock reads.

Each pool is an independent resource. Candidates are walked by priority (highest first); within
a pool they start greedily until the first one that does not fit, the pool's *head*. The head
gets a reservation (EASY backfilling, Lifka 1995, as SLURM's backfill scheduler does): the
earliest time enough slots of its pool will be free, from the expected ends of what runs. A
lower-priority candidate may still start in that pool now if it fits in the free slots and
either ends by the reservation or uses only slots the head will not need then ("extra" slots).
So a big task is never starved by a stream of small ones, and the gaps it leaves still get
filled. A full pool never holds back candidates of other pools (Airflow's starvation bug).

Global parallelism and per-DAG ``max_active_tasks`` are hard caps on every start.
"""

from __future__ import annotations

import sys
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

#: Running tasks already past their expected end are taken to end this many seconds from now.
OVERDUE_EPSILON = 0.001

_UNLIMITED = sys.maxsize


@dataclass(frozen=True)
class Candidate:
    """A task instance ready to start (its dependencies are met).

    Attributes:
        key: the caller's identity of the task instance, returned by :func:`plan`.
        dag_id: its DAG, for ``max_active_tasks``.
        pool: the pool it takes slots from.
        pool_slots: how many slots of the pool it takes (at least 1).
        priority_weight: higher starts first.
        expected_duration: seconds it is expected to run (from history; the caller passes a
            default such as 1.0 when unknown).
        order: tie-breaker among equal priorities, lower first (e.g. when it became ready).
    """

    key: Hashable
    dag_id: str
    pool: str
    pool_slots: int
    priority_weight: int
    expected_duration: float
    order: float = 0.0


@dataclass(frozen=True)
class Running:
    """A task instance holding slots now (queued or running).

    Attributes:
        key: the caller's identity of the task instance.
        dag_id: its DAG, for ``max_active_tasks``.
        pool: the pool it holds slots of.
        pool_slots: how many slots it holds.
        expected_end: when it is expected to finish; may be in the past (overdue), which is
            taken as "any moment now".
    """

    key: Hashable
    dag_id: str
    pool: str
    pool_slots: int
    expected_end: datetime


@dataclass(frozen=True)
class Limits:
    """The caps a plan must respect.

    Attributes:
        parallelism: most task instances queued or running at once in total; 0 means
            unlimited (as Airflow's executors read it).
        pools: slots per pool; -1 means unlimited (as in Airflow). A candidate of a pool
            missing here cannot run (see :func:`unrunnable`).
        max_active_tasks: most task instances queued or running at once per DAG id; a DAG
            missing here is unlimited.
    """

    parallelism: int
    pools: Mapping[str, int]
    max_active_tasks: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.parallelism < 0:
            raise ValueError(f"parallelism must be 0 (unlimited) or more, got {self.parallelism}")


def unrunnable(candidates: Iterable[Candidate], limits: Limits) -> dict[Hashable, str]:
    """Return the candidates no amount of waiting will start, with the reason for each.

    :func:`plan` never starts them; the scheduler should fail them or warn about them.

    Returns:
        key -> a message saying what is wrong and how to fix it, in the candidates' order.
    """
    found: dict[Hashable, str] = {}
    for cand in candidates:
        reason = _unrunnable_reason(cand, limits)
        if reason is not None:
            found[cand.key] = reason
    return found


def _unrunnable_reason(cand: Candidate, limits: Limits) -> str | None:
    size = limits.pools.get(cand.pool)
    if size is None:
        return f"pool {cand.pool!r} does not exist; create it or set the task's pool to an existing one"
    if cand.pool_slots < 1:
        return f"pool_slots must be at least 1, got {cand.pool_slots}"
    if 0 <= size < cand.pool_slots:
        return (
            f"the task needs {cand.pool_slots} slots but pool {cand.pool!r} has only {size}; "
            "enlarge the pool or lower the task's pool_slots"
        )
    return None


class _Pool:
    """One pool during one plan: free slots now and, once blocked, the head's reservation."""

    __slots__ = ("free", "ends", "shadow", "extra")

    def __init__(self, free: int) -> None:
        self.free = free  # may be negative if the pool shrank below what runs in it
        self.ends: list[tuple[float, int]] = []  # (seconds from now, slots) of what holds slots
        self.shadow: float | None = None  # seconds from now when the head can start
        self.extra = 0  # slots free at the shadow time beyond what the head needs

    def try_start(self, slots: int, duration: float) -> bool:
        """Start a task now if the pool allows it (greedy before the head, EASY after)."""
        if slots > self.free:
            if self.shadow is None:
                self._reserve(slots)
            return False
        if self.shadow is None:
            self.ends.append((duration, slots))
        elif duration <= self.shadow:
            pass  # done before the head needs the slots
        elif slots <= self.extra:
            self.extra -= slots
        else:
            return False
        self.free -= slots
        return True

    def _reserve(self, needed: int) -> None:
        """Give the blocked head the earliest time enough slots will be free."""
        self.ends.sort()
        available = self.free
        ends = self.ends
        i = 0
        while i < len(ends):
            when = ends[i][0]
            # Free every task ending at this same instant before checking.
            while i < len(ends) and ends[i][0] == when:
                available += ends[i][1]
                i += 1
            if available >= needed:
                self.shadow, self.extra = when, available - needed
                return
        # Unreachable for runnable heads (all ends free the whole pool); be safe anyway.
        self.shadow, self.extra = float("inf"), 0


def plan(
    candidates: Sequence[Candidate],
    running: Sequence[Running],
    limits: Limits,
    now: datetime,
) -> list[Hashable]:
    """Choose the candidates to start now.

    Args:
        candidates: task instances ready to start, in any order.
        running: task instances queued or running, holding slots.
        limits: parallelism, pool sizes and per-DAG caps.
        now: the current time (same timezone awareness as ``expected_end``).

    Returns:
        Keys of the candidates to start, highest priority first. Unrunnable candidates (see
        :func:`unrunnable`) are never included.
    """
    parallel_free = limits.parallelism - len(running) if limits.parallelism else _UNLIMITED
    if parallel_free <= 0 or not candidates:
        return []
    pools = _pools_now(running, limits, now)
    dag_free = _dag_room(running, limits)
    started: list[Hashable] = []
    for cand in sorted(candidates, key=lambda c: (-c.priority_weight, c.order)):
        pool = pools.get(cand.pool)
        if pool is None or _unrunnable_reason(cand, limits) is not None:
            continue
        room = dag_free.get(cand.dag_id, _UNLIMITED)
        # A DAG at its cap must not become a pool's head: it could not use the reservation.
        if room <= 0 or not pool.try_start(cand.pool_slots, cand.expected_duration):
            continue
        started.append(cand.key)
        if room != _UNLIMITED:
            dag_free[cand.dag_id] = room - 1
        parallel_free -= 1
        if parallel_free == 0:
            break
    return started


def _pools_now(running: Sequence[Running], limits: Limits, now: datetime) -> dict[str, _Pool]:
    """Build each pool's state: free slots and the expected ends of what holds its slots."""
    pools = {name: _Pool(_UNLIMITED if size < 0 else size) for name, size in limits.pools.items()}
    for run in running:
        pool = pools.get(run.pool)
        if pool is None:
            continue  # a pool deleted while its tasks run: nothing to plan for it
        pool.free -= run.pool_slots
        left = (run.expected_end - now).total_seconds()
        pool.ends.append((max(left, OVERDUE_EPSILON), run.pool_slots))
    return pools


def _dag_room(running: Sequence[Running], limits: Limits) -> dict[str, int]:
    """Return how many more task instances each capped DAG may start."""
    room = dict(limits.max_active_tasks)
    for run in running:
        if run.dag_id in room:
            room[run.dag_id] -= 1
    return room
