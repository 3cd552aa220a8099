"""Tries whose process is gone, found from what the metastore knows: host, pid, start time.

A claim records the host and pid of the process that runs the try and when it started. A
scheduler that starts again on the same host (after kill -9, a crash, a reboot) finds the
tries of this host whose process is gone, or whose pid now belongs to a younger process, and
reports them lost at once instead of waiting for their heartbeat to time out; tries on other
hosts keep the heartbeat rule. Each report is a compare-and-set on (id, state, try number), so
with several schedulers exactly one handles each lost try.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from tradewind.core.states import TaskInstanceState as TI
from tradewind.metastore.tables import Job, TaskInstance
from tradewind.services.ti_state import ti_update, touch_runs

_TIc = cast(Table, TaskInstance.__table__).c
#: A process that started this much after the try did cannot be the try's process.
_PID_REUSE_SLACK = timedelta(seconds=2)


def pid_alive(pid: int | None) -> bool:
    """Whether ``pid`` is a live (not zombie) process on this host."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def process_started_at(pid: int) -> datetime | None:
    """When process ``pid`` started (Linux ``/proc``), or None when unknown."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime"))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    from datetime import UTC

    return datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), tz=UTC)


def process_of_try_gone(pid: int | None, started: datetime | None) -> str | None:
    """Why the process of a try on this host is gone, or None when it may still run it."""
    if not pid_alive(pid):
        return f"its process (pid {pid}) on {socket.gethostname()} is gone"
    assert pid is not None
    born = process_started_at(pid)
    if born is not None and started is not None and born > started + _PID_REUSE_SLACK:
        return f"pid {pid} on {socket.gethostname()} now belongs to another process"
    return None


def dead_local_tries(session: Session, exclude: set[int]) -> list[tuple[int, int, int, str]]:
    """Running tries of this host whose process is gone: (ti_id, try_number, leg, why).

    ``exclude``: tries the caller's executor knows about (it reports those itself).
    """
    rows = session.execute(
        select(_TIc.id, _TIc.try_number, _TIc.queue_seq, _TIc.pid, _TIc.start_date).where(
            _TIc.state.in_([TI.RUNNING.value, TI.RESTARTING.value]),
            _TIc.hostname == socket.gethostname(),
        )
    ).all()
    found = []
    for ti_id, try_number, seq, pid, started in rows:
        if ti_id in exclude:
            continue
        why = process_of_try_gone(pid, started)
        if why:
            found.append((ti_id, try_number, seq, why))
    return found


def end_dead_local_jobs(session: Session, now: datetime, job_type: str = "SchedulerJob") -> int:
    """Jobs of this host still marked running whose process is gone: mark them failed (their
    queued task instances are then re-queued at once). Return how many."""
    rows = session.execute(
        select(Job.id, Job.pid).where(
            Job.job_type == job_type,
            Job.state == "running",
            Job.hostname == socket.gethostname(),
            Job.pid != os.getpid(),
        )
    ).all()
    dead = [job_id for job_id, pid in rows if not pid_alive(pid)]
    if dead:
        session.execute(update(Job).where(Job.id.in_(dead)).values(state="failed", end_date=now))
    return len(dead)


_REQUEUE_UNCLAIMED = ti_update(
    TI.QUEUED,
    TI.SCHEDULED,
    _TIc.id == bindparam("b_id"),
    _TIc.try_number == bindparam("b_try"),
    updated_at=bindparam("b_now"),
).returning(_TIc.dag_id, _TIc.run_id)
_REQUEUE_UNCLAIMED_LEG = _REQUEUE_UNCLAIMED.where(_TIc.queue_seq == bindparam("b_seq"))


def requeue_unclaimed(
    session: Session, ti_id: int, try_number: int, now: datetime, seq: int | None = None
) -> bool:
    """A try lost before its claim (its process could not reach the execution API): the
    task instance, still queued for that try (and with ``seq``, that leg of it), goes back to
    scheduled at once instead of after ``task_queued_timeout``. A compare-and-set; False
    when it had moved (a later leg queued since is left alone)."""
    params = {"b_id": ti_id, "b_try": try_number, "b_now": now, "b_seq": seq}
    stmt = _REQUEUE_UNCLAIMED if seq is None else _REQUEUE_UNCLAIMED_LEG
    row = session.execute(stmt, params).first()
    if row is not None:
        touch_runs(session, [(row.dag_id, row.run_id)])
    return row is not None
