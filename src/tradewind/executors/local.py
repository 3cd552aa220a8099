"""LocalExecutor: a pool of warm worker processes fed by the scheduler.

Each worker is forked from the scheduler (Tradewind already imported) and forks a child per
try, so a task starts in about a millisecond, cannot pollute the next one, and a crash
(segfault, ``os._exit``, kill -9) is seen at once. Children talk to the execution API over a
socket pair to this process, which applies the calls through the services; workers hold no
database session. Workers and children die with their parent (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, Pipe
from typing import TYPE_CHECKING

from tradewind.core.execution import Outcome, Workload
from tradewind.errors import TryLost
from tradewind.executors.base import BaseExecutor, ExecutorEvent
from tradewind.worker import _pipe
from tradewind.worker.processes import die_with_parent, stop_child
from tradewind.worker.supervision import EXIT_LOST, KILL_GRACE, TryWatch, term_child

if TYPE_CHECKING:
    from tradewind.services.execution import ExecutionService

log = logging.getLogger("tradewind.executor")


@dataclass
class _Worker:
    pid: int
    control: Connection
    api: Connection
    current: Workload | None = None
    started: float = field(default=0.0)


def _describe_exit(status: int) -> tuple[int | None, int | None]:
    if os.WIFSIGNALED(status):
        return None, os.WTERMSIG(status)
    return os.WEXITSTATUS(status), None


def _worker_main(
    control: Connection,
    api: Connection,
    run_child: Callable[[Workload, Connection], None],
    preload: Callable[[Workload], None],
) -> None:
    """A worker: wait for a workload, fork a child to run it, report how the child ended."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        try:
            msg = _pipe.recv(control)
        except (EOFError, OSError):
            os._exit(0)
        if msg.get("op") == "stop":
            os._exit(0)
        if msg.get("op") != "run":
            continue  # e.g. a kill for a try that already ended
        workload = Workload.from_json(msg["workload"])
        with contextlib.suppress(Exception):
            preload(workload)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                die_with_parent()
                signal.signal(signal.SIGTERM, term_child)
                control.close()
                run_child(workload, api)
                code = 0
            except TryLost:  # already logged by the runner
                code = EXIT_LOST
            except BaseException:  # noqa: BLE001 - reported through the exit code
                logging.getLogger("tradewind.worker").exception("task process failed")
            finally:
                os._exit(code)
        status, why = _wait_child(pid, control, workload)
        code, sig = _describe_exit(status)  # type: ignore[assignment]
        try:
            _pipe.send(
                control,
                {
                    "op": "done",
                    "ti_id": workload.ti_id,
                    "try_number": workload.try_number,
                    "code": code,
                    "signal": sig,
                    "why": why,
                },
            )
        except OSError:
            os._exit(0)


def _wait_child(pid: int, control: Connection, workload: Workload) -> tuple[int, str | None]:
    """Wait for the child; stop it past its deadline or when the parent says ``kill``.

    Return its wait status and, when it did not end by itself, why (for the lost report).
    """
    fd = os.pidfd_open(pid)
    # The executor vouches for liveness itself: no heartbeats here, only the deadline.
    watch = TryWatch(workload, kill=lambda why: stop_child(pid, fd, KILL_GRACE))
    try:
        while True:
            ready, _, _ = select.select([fd, control], [], [], watch.wait())  # type: ignore[type-var]
            if fd in ready:
                break
            if control in ready:
                try:
                    msg = _pipe.recv(control)
                except (EOFError, OSError):
                    msg = {"op": "stop"}
                # A kill names its task instance: a late kill meant for the previous try of
                # this worker must not stop the one running now.
                if msg.get("op") == "stop":
                    watch.stop("the executor is shutting down")
                    break
                if msg.get("op") == "kill" and msg.get("ti_id") == workload.ti_id:
                    watch.stop("the task instance was moved away (cleared or marked)")
                    break
            elif watch.tick():
                break
        _, status = os.waitpid(pid, 0)
        return status, watch.lost_reason(status)
    finally:
        os.close(fd)


class LocalExecutor(BaseExecutor):
    """Runs tasks in ``parallelism`` warm worker processes on this machine."""

    name = "LocalExecutor"
    supervises_heartbeats = True

    def __init__(
        self,
        api: ExecutionService,
        run_child: Callable[[Workload, Connection], None],
        preload: Callable[[Workload], None],
        parallelism: int = 4,
        on_lost_log: Callable[[Workload, str], None] | None = None,
    ):
        super().__init__(parallelism=max(parallelism, 1))
        self.api = api
        self.run_child = run_child
        self.preload = preload
        self.on_lost_log = on_lost_log
        self.workers: list[_Worker] = []
        self.pending: deque[Workload] = deque()
        self._events: list[ExecutorEvent] = []
        self._stopping = False

    # -- workers ---------------------------------------------------------------------------
    def start(self) -> None:
        for _ in range(self.parallelism):
            self.workers.append(self._spawn())

    def _spawn(self) -> _Worker:
        control_parent, control_child = Pipe(duplex=True)
        api_parent, api_child = Pipe(duplex=True)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                control_parent.close()
                api_parent.close()
                for w in self.workers:
                    w.control.close()
                    w.api.close()
                _worker_main(control_child, api_child, self.run_child, self.preload)
            except BaseException:  # noqa: BLE001
                code = 1
            finally:
                os._exit(code)
        control_child.close()
        api_child.close()
        return _Worker(pid=pid, control=control_parent, api=api_parent)

    def queue_workloads(self, workloads: list[Workload]) -> None:
        for w in workloads:
            self.in_flight[w.ti_id] = w
            self.pending.append(w)
        self._dispatch()

    def _dispatch(self) -> None:
        for worker in self.workers:
            if not self.pending:
                return
            if worker.current is None:
                w = self.pending.popleft()
                worker.current = w
                worker.started = time.monotonic()
                try:
                    _pipe.send(worker.control, {"op": "run", "workload": w.to_json()})
                except OSError:
                    self.pending.appendleft(w)
                    worker.current = None

    def filenos(self) -> list[int]:
        fds = []
        for w in self.workers:
            fds.append(w.control.fileno())
            fds.append(w.api.fileno())
        return fds

    def poll(self) -> list[ExecutorEvent]:
        """Answer the children's API calls and collect ended tries, without blocking."""
        busy = True
        while busy:
            busy = False
            for worker in list(self.workers):
                if worker.api.poll():
                    busy = True
                    self._serve(worker)
                if worker.control.poll():
                    busy = True
                    self._on_control(worker)
        self._dispatch()
        events, self._events = self._events, []
        return events

    def _serve(self, worker: _Worker) -> None:
        try:
            msg = _pipe.recv(worker.api)
        except (EOFError, OSError):
            return
        reply = _pipe.serve_call(self.api, msg)
        with contextlib.suppress(OSError):
            _pipe.send(worker.api, reply)

    def _on_control(self, worker: _Worker) -> None:
        try:
            msg = _pipe.recv(worker.control)
        except (EOFError, OSError):
            self._replace(worker, "the worker process died")
            return
        if msg.get("op") != "done":
            return
        w = worker.current
        worker.current = None
        if w is None:
            return
        self.in_flight.pop(w.ti_id, None)
        if msg.get("code") != 0:
            why = msg.get("why") or (
                f"signal {signal.Signals(msg['signal']).name}"
                if msg.get("signal")
                else f"exit code {msg.get('code')}"
            )
            # The task's own process died (segfault, os._exit, killed): its try failed. Only
            # Tradewind's own faults are lost: the execution API failing it (EXIT_LOST), the
            # worker that supervises it dying (_replace).
            lost = msg.get("code") == EXIT_LOST
            self._lost(
                w,
                f"the task process ended ({why}) before reporting its outcome",
                Outcome.LOST if lost else Outcome.FAILED,
            )

    def _lost(self, w: Workload, message: str, outcome: Outcome = Outcome.LOST) -> None:
        if self.on_lost_log is not None:
            with contextlib.suppress(Exception):
                self.on_lost_log(w, message)
        self._events.append(ExecutorEvent(w.ti_id, w.try_number, outcome.value, message))

    def _replace(self, worker: _Worker, why: str) -> None:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(worker.pid, 0)
        worker.control.close()
        worker.api.close()
        self.workers.remove(worker)
        if worker.current is not None:
            self.in_flight.pop(worker.current.ti_id, None)
            self._lost(worker.current, f"{why} (pid {worker.pid}) while it ran the try")
        if not self._stopping:
            self.workers.append(self._spawn())

    def alive_ti_ids(self) -> list[int]:
        return [w.current.ti_id for w in self.workers if w.current is not None]

    def stop_tasks(self, ti_ids: list[int]) -> None:
        wanted = set(ti_ids)
        for worker in self.workers:
            if worker.current is not None and worker.current.ti_id in wanted:
                with contextlib.suppress(OSError):
                    _pipe.send(worker.control, {"op": "kill", "ti_id": worker.current.ti_id})
        self.pending = deque(w for w in self.pending if w.ti_id not in wanted)

    def end(self, timeout: float = 30.0) -> None:
        """Let running tries finish (serving their calls), then stop the workers."""
        self._stopping = True
        self.pending.clear()
        deadline = time.monotonic() + timeout
        while any(w.current is not None for w in self.workers) and time.monotonic() < deadline:
            fds = self.filenos()
            if not fds:
                break
            select.select(fds, [], [], 0.1)
            self.poll()
        self.terminate()

    def terminate(self) -> None:
        self._stopping = True
        for worker in self.workers:
            with contextlib.suppress(OSError):
                _pipe.send(worker.control, {"op": "stop"})
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGKILL)
        for worker in self.workers:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(worker.pid, 0)
            worker.control.close()
            worker.api.close()
        self.workers.clear()
