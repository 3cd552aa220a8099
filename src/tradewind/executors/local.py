"""LocalExecutor: a pool of warm worker processes fed by the scheduler.

Each worker is forked from the scheduler (Tradewind already imported). By default a worker
runs each try itself (``[local_executor] fork_per_try = false``): no fork on the path from one
task to the next. With ``fork_per_try = true`` it forks a child per try, so a try cannot
pollute the next one. Either way a crash (segfault, ``os._exit``) is seen at once and fails
the try. The pool starts with ``idle_workers`` workers, grows with demand up to
``parallelism`` and shrinks back after ``worker_idle_timeout`` seconds without a try (#17: the
memory of an idle scheduler); ``worker_max_tasks`` recycles a worker after that many tries. Tries talk to the execution API over a socket pair to this process, which applies
the calls through the services; workers hold no database session. Workers and children die
with their parent (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import select
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, Pipe
from typing import TYPE_CHECKING, Any

from tradewind.core.execution import Outcome, Workload
from tradewind.errors import TryLost
from tradewind.executors.base import BaseExecutor, ExecutorEvent
from tradewind.worker import _pipe
from tradewind.worker.processes import die_with_parent, stop_child
from tradewind.worker.supervision import (
    EXIT_LOST,
    KILL_GRACE,
    TIMEOUT_GRACE,
    TryWatch,
    term_child,
)

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
    idle_since: float = field(default_factory=time.monotonic)
    tries: int = 0
    # A try run in the worker itself is stopped from here: why, and when SIGKILL follows.
    stop_reason: str | None = None
    kill_at: float | None = None
    # The current try reported its outcome (finish served): the worker is about to be free.
    reported: bool = False


#: Execution-API calls that change no state the scheduler acts on.
_READS = frozenset(
    {"claim", "heartbeat", "xcom_get", "get_variable", "get_connection", "get_dag_run_state"}
    | {"get_task_states"}
)
#: Signals that only the try's own code raises in a worker that runs it (a crash, not a kill).
_CRASH_SIGNALS = frozenset(
    {signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGABRT, signal.SIGSYS}
)


def _describe_exit(status: int) -> tuple[int | None, int | None]:
    if os.WIFSIGNALED(status):
        return None, os.WTERMSIG(status)
    return os.WEXITSTATUS(status), None


def _run_here(
    workload: Workload, api: Connection, run: Callable[[Workload, Connection], None]
) -> int:
    """Run one try in this worker process; return its exit code as a forked child's would.

    A SIGTERM from the executor (a stop: moved away, timeout) unwinds the try as SystemExit,
    so ``on_kill`` runs and the runner reports the failure; between tries SIGTERM is ignored.
    """
    signal.signal(signal.SIGTERM, term_child)
    try:
        run(workload, api)
        return 0
    except TryLost:  # already logged by the runner
        return EXIT_LOST
    except BaseException:  # noqa: BLE001 - reported through the code, the worker goes on
        logging.getLogger("tradewind.worker").exception("task process failed")
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _worker_main(
    control: Connection,
    api: Connection,
    run_child: Callable[[Workload, Connection], None],
    preload: Callable[[Workload], None],
    fork_per_try: bool = True,
) -> None:
    """A worker: wait for a workload, run it (here, or in a forked child), report how it ended."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL if fork_per_try else signal.SIG_IGN)
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
        code: int | None
        sig: int | None
        if not fork_per_try:
            code, sig, why = _run_here(workload, api, run_child), None, None
        else:
            code, sig, why = _fork_try(workload, control, api, run_child, preload)
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


def _fork_try(
    workload: Workload,
    control: Connection,
    api: Connection,
    run_child: Callable[[Workload, Connection], None],
    preload: Callable[[Workload], None],
) -> tuple[int | None, int | None, str | None]:
    """Run the try in a forked child; return its exit code, signal and why it was stopped."""
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
    return code, sig, why


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
    """Runs tasks in ``parallelism`` warm worker processes on this machine.

    With ``fork_per_try`` false (the default), a worker runs each try itself and this
    executor supervises it: it stops the try with SIGTERM (``on_kill`` runs) and SIGKILL
    ``KILL_GRACE`` seconds later, and enforces ``execution_timeout`` plus a grace period.
    """

    name = "LocalExecutor"
    supervises_heartbeats = True
    reports_changes = True

    def __init__(
        self,
        api: ExecutionService,
        run_child: Callable[[Workload, Connection], None],
        preload: Callable[[Workload], None],
        parallelism: int = 4,
        on_lost_log: Callable[[Workload, str], None] | None = None,
        fork_per_try: bool = False,
        idle_workers: int = 1,
        idle_timeout: float = 60.0,
        max_tasks: int = 0,
    ):
        super().__init__(parallelism=max(parallelism, 1))
        self.api = api
        self.run_child = run_child
        self.preload = preload
        self.on_lost_log = on_lost_log
        self.fork_per_try = fork_per_try
        self.idle_workers = min(max(idle_workers, 0), self.parallelism)
        self.idle_timeout = idle_timeout
        self.max_tasks = max(max_tasks, 0)
        self.workers: list[_Worker] = []
        self.pending: deque[Workload] = deque()
        self._events: list[ExecutorEvent] = []
        self._stopping = False
        self._next_shrink = 0.0
        # Answers to ``finish`` calls, sent after the scheduler's next pass (see _serve).
        self._held: list[tuple[_Worker, dict[str, Any]]] = []

    # -- workers ---------------------------------------------------------------------------
    def start(self) -> None:
        for _ in range(self.idle_workers):
            self.workers.append(self._spawn())

    def _spawn(self) -> _Worker:
        control_parent, control_child = Pipe(duplex=True)
        api_parent, api_child = Pipe(duplex=True)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                # What the scheduler allocated since it froze its heap stays shared too.
                gc.freeze()
                control_parent.close()
                api_parent.close()
                for w in self.workers:
                    w.control.close()
                    w.api.close()
                _worker_main(
                    control_child, api_child, self.run_child, self.preload, self.fork_per_try
                )
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
        self._send_held()

    def _send_held(self) -> None:
        held, self._held = self._held, []
        for worker, reply in held:
            if worker in self.workers:
                with contextlib.suppress(OSError):
                    _pipe.send(worker.api, reply)

    def _dispatch(self) -> None:
        """Hand pending tries to free workers, then fork more workers for the rest (up to
        ``parallelism``): a free warm worker never waits for a fork."""
        for worker in self.workers:
            if not self.pending:
                return
            if worker.current is None:
                self._hand(worker)
        while self.pending and len(self.workers) < self.parallelism and not self._stopping:
            worker = self._spawn()
            self.workers.append(worker)
            self._hand(worker)

    def _hand(self, worker: _Worker) -> None:
        w = self.pending.popleft()
        worker.current = w
        worker.started = time.monotonic()
        worker.stop_reason = worker.kill_at = None
        worker.reported = False
        worker.tries += 1
        try:
            _pipe.send(worker.control, {"op": "run", "workload": w.to_json()})
        except OSError:
            self.pending.appendleft(w)
            worker.current = None

    def _retire(self, worker: _Worker) -> None:
        """Stop an idle worker (nothing runs in it) and forget it."""
        self.workers.remove(worker)
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(worker.pid, 0)
        worker.control.close()
        worker.api.close()

    def _shrink(self, now: float) -> None:
        """Retire the workers idle for ``idle_timeout`` seconds, keeping ``idle_workers``
        (looked at once a second at most: not on every poll of a busy loop)."""
        if len(self.workers) <= self.idle_workers or now < self._next_shrink:
            return
        self._next_shrink = now + 1.0
        idle = [w for w in self.workers if w.current is None]
        for worker in sorted(idle, key=lambda w: w.idle_since):
            if (
                len(self.workers) <= self.idle_workers
                or now - worker.idle_since < self.idle_timeout
            ):
                return
            self._retire(worker)

    def free_slots(self) -> int:
        """Slots for new tries; a worker whose try reported its outcome counts as free: the
        pass that follows the outcome queues the next try, which waits in ``pending`` only
        until the worker says it is done (then ``poll`` hands it over), instead of a pass
        of its own after that message (#17)."""
        reported = sum(1 for w in self.workers if w.current is not None and w.reported)
        return max(self.parallelism - len(self.in_flight) + reported, 0)

    def filenos(self) -> list[int]:
        fds = []
        for w in self.workers:
            fds.append(w.control.fileno())
            fds.append(w.api.fileno())
        return fds

    def poll(self) -> list[ExecutorEvent]:
        """Answer the tries' API calls and collect ended tries, without blocking."""
        self._send_held()
        while True:
            # One poll() over every pipe: a Connection.poll() each costs a select() of its own
            # (and poll, unlike select, takes descriptors past 1,024).
            by_fd = {}
            watch = select.poll()
            for worker in self.workers:
                for conn, is_api in ((worker.api, True), (worker.control, False)):
                    by_fd[conn.fileno()] = (worker, is_api)
                    watch.register(conn.fileno(), select.POLLIN)
            ready = watch.poll(0)
            if not ready:
                break
            for fd, _ in ready:
                worker, is_api = by_fd[fd]
                if worker not in self.workers:
                    continue  # replaced while serving another pipe of this pass
                if is_api:
                    self._serve(worker)
                else:
                    self._on_control(worker)
        now = time.monotonic()
        if not self.fork_per_try:
            self._watch_tries(now)
        self._dispatch()
        self._shrink(now)
        events, self._events = self._events, []
        return events

    def _serve(self, worker: _Worker) -> None:
        try:
            msg = _pipe.recv(worker.api)
        except (EOFError, OSError):
            return
        if msg.get("method") not in _READS:
            self.changed = True
        reply = _pipe.serve_call(self.api, msg)
        if msg.get("method") == "finish":
            worker.reported = worker.current is not None
            # Committed; the answer waits for the scheduler's pass that follows, so the next
            # task is handed out before this worker wakes up (on 2 cores a woken reader
            # takes the CPU from the writer: ~0.3 ms on the path from one task to the next).
            self._held.append((worker, reply))
            return
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
        self.freed = True  # a free worker: its try's outcome was served before
        w, why = worker.current, worker.stop_reason
        worker.current = None
        worker.stop_reason = worker.kill_at = None
        worker.idle_since = time.monotonic()
        if self.max_tasks and worker.tries >= self.max_tasks:
            self._retire(worker)  # recycled: the next try that needs it forks a fresh one
        if w is None:
            return
        self.in_flight.pop(w.ti_id, None)
        if msg.get("code") != 0:
            why = (
                msg.get("why")
                or why
                or (
                    f"signal {signal.Signals(msg['signal']).name}"
                    if msg.get("signal")
                    else f"exit code {msg.get('code')}"
                )
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
        self._events.append(ExecutorEvent(w.ti_id, w.try_number, outcome.value, message, w.seq))

    def _replace(self, worker: _Worker, why: str) -> None:
        status = None
        with contextlib.suppress(ChildProcessError, OSError):
            _, status = os.waitpid(worker.pid, 0)
        worker.control.close()
        worker.api.close()
        self.workers.remove(worker)
        w = worker.current
        if w is not None:
            self.in_flight.pop(w.ti_id, None)
            if self.fork_per_try or status is None:
                self._lost(w, f"{why} (pid {worker.pid}) while it ran the try")
            else:
                self._ended_in_worker(worker, w, status)
        if not self._stopping and len(self.workers) < self.idle_workers:
            self.workers.append(self._spawn())
        self.changed = True

    def _ended_in_worker(self, worker: _Worker, w: Workload, status: int) -> None:
        """A worker that ran a try itself died: the try's own doing (it exited, it crashed,
        it was stopped from here) fails it; a kill from outside is a lost worker."""
        code, sig = _describe_exit(status)
        if worker.stop_reason is not None:
            failed, what = True, worker.stop_reason
        elif sig is None:
            failed, what = True, f"exit code {code}"
        else:
            failed, what = sig in _CRASH_SIGNALS, f"signal {signal.Signals(sig).name}"
        if failed:
            message = f"the task process ended ({what}) before reporting its outcome"
            self._lost(w, message, Outcome.FAILED)
        else:
            self._lost(
                w, f"the worker process died ({what}, pid {worker.pid}) while it ran the try"
            )

    def _stop_in_worker(self, worker: _Worker, reason: str, now: float) -> None:
        """Stop the try a worker runs itself: SIGTERM now, SIGKILL after ``KILL_GRACE``."""
        if worker.stop_reason is not None:
            return
        worker.stop_reason = reason
        worker.kill_at = now + KILL_GRACE
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGTERM)

    def _watch_tries(self, now: float) -> None:
        """Deadlines of the tries run in the workers: execution_timeout (plus the grace the
        try's own SIGALRM gets first), then SIGKILL for a try that ignored its SIGTERM."""
        for worker in self.workers:
            w = worker.current
            if w is None:
                continue
            if worker.kill_at is not None and now >= worker.kill_at:
                worker.kill_at = None
                worker.stop_reason = (
                    f"{worker.stop_reason}; it did not stop within {KILL_GRACE:g} s"
                )
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)
            elif w.timeout and now >= worker.started + w.timeout + TIMEOUT_GRACE:
                reason = f"the task exceeded its execution_timeout of {w.timeout:g} s"
                self._stop_in_worker(worker, reason, now)

    def alive_ti_ids(self) -> list[int]:
        return [w.current.ti_id for w in self.workers if w.current is not None]

    def stop_tasks(self, ti_ids: list[int]) -> None:
        wanted = set(ti_ids)
        now = time.monotonic()
        for worker in self.workers:
            if worker.current is not None and worker.current.ti_id in wanted:
                if not self.fork_per_try:
                    reason = "the task instance was moved away (cleared or marked)"
                    self._stop_in_worker(worker, reason, now)
                    continue
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
