"""How a Celery worker runs one try: in its pool process, or in a fork of it.

:class:`InProcessTry` (the default) runs the try in the pool process, watched by the
process's one :class:`_Watchdog` thread, which heartbeats through the execution API once the
claim succeeded, enforces ``execution_timeout`` and stops the try when the answer says stop.
:class:`TrySupervisor` (``[celery] fork_per_try``) forks a child per try and serves its
execution-API calls over a socket pair: stronger isolation, ~10 ms more CPU per try.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import select
import signal
import socket
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from tradewind.core.execution import Outcome, Workload
from tradewind.core.log_files import log_path
from tradewind.errors import (
    AuthenticationFailed,
    ConfigError,
    ExecutionAPIError,
    NotFound,
    TaskInstanceMoved,
    TryLost,
)
from tradewind.settings import Settings
from tradewind.worker import _pipe
from tradewind.worker._pipe import PipeClient
from tradewind.worker.dag_cache import resolve_dag
from tradewind.worker.http_client import HttpExecutionClient
from tradewind.worker.logs import append_line
from tradewind.worker.processes import die_with_parent, stop_child
from tradewind.worker.runner import TaskRunner  # imported once here, not in every forked try
from tradewind.worker.supervision import EXIT_LOST, KILL_GRACE, TryWatch, term_child

log = logging.getLogger("tradewind.worker.celery")

_REPORTS = frozenset({"finish", "defer", "reschedule"})


def setting_or(settings: Settings, section: str, key: str, default: Any) -> Any:
    """A setting that may be absent from the defaults table (set by file or env only)."""
    try:
        value = settings.get(section, key)
    except ConfigError:
        return default
    return default if value in ("", None) else value


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker needs to run tries: where to report, where DAGs and logs live."""

    api_url: str
    dags_folder: str
    log_folder: str
    heartbeat_sec: float
    fork_per_try: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerConfig:
        return cls(
            api_url=str(settings.get("core", "execution_api_server_url")),
            dags_folder=str(settings.dags_folder),
            log_folder=str(settings.log_folder),
            heartbeat_sec=float(settings.get("scheduler", "task_instance_heartbeat_sec")),
            fork_per_try=str(setting_or(settings, "celery", "fork_per_try", False)).lower()
            in ("1", "true", "yes", "on"),
        )


# -- the worker side --------------------------------------------------------------------------
_clients: dict[tuple[int, str], HttpExecutionClient] = {}


def _client(url: str, retry_for: float = 300.0) -> HttpExecutionClient:
    """One keep-alive client per process (a forked child must not share its parent's sockets),
    for its main thread: a watchdog thread uses clients of its own."""
    key = (os.getpid(), f"{url}#{retry_for}")
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = HttpExecutionClient(url, retry_for=retry_for)
    return client


def _upload_log(
    workload: Workload, config: WorkerConfig, path: Any, client: HttpExecutionClient | None = None
) -> None:
    """Send the try's log file to the webserver (the log stays here if that fails)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    try:
        (client or _client(config.api_url, retry_for=30.0)).upload_log(
            workload.ti_id, workload.token, text
        )
    except Exception as exc:  # noqa: BLE001 - the log stays on this worker
        log.warning("could not upload the log of %s: %s", workload.task_id, exc)


def _size(path: Any) -> int | None:
    try:
        return int(path.stat().st_size)
    except OSError:
        return None


def _try_log_path(workload: Workload, config: WorkerConfig) -> Any:
    w = workload
    return log_path(config.log_folder, w.dag_id, w.run_id, w.task_id, w.try_number, w.map_index)


def _heartbeat(client: HttpExecutionClient, w: Workload, pid: int) -> str | None:
    """Heartbeat a try once; return why it must stop, or None to carry on."""
    try:
        answer = client.heartbeat(w.ti_id, w.token, pid)
    except (AuthenticationFailed, NotFound, TaskInstanceMoved) as exc:
        return f"the heartbeat was refused: {exc}"
    except ExecutionAPIError as exc:
        log.warning("heartbeat of %s failed, will retry: %s", w.task_id, exc)
        return None
    if answer.get("stop"):
        return "the task instance was moved away (cleared, marked or timed out)"
    return None


def _report_lost(
    w: Workload,
    path: Any,
    why: str,
    client: HttpExecutionClient,
    upload: WorkerConfig | None = None,
    outcome: Outcome = Outcome.LOST,
) -> None:
    """A try ended without reporting its outcome: say why in its log, report it (lost when
    Tradewind's own process went away, failed when the task's did or was stopped; the
    server's compare-and-set ignores this if an outcome got there first); with ``upload``,
    also send the log now."""
    message = (
        f"the task process on {socket.gethostname()} ended ({why}) before reporting its outcome"
    )
    append_line(path, "error", message)
    if upload is not None:
        _upload_log(w, upload, path, client)
    with contextlib.suppress(TaskInstanceMoved, AuthenticationFailed, NotFound, ExecutionAPIError):
        client.finish(w.ti_id, w.token, outcome.value, message, None)


class _TryStopped(SystemExit):
    """Raised in the try's thread when the watchdog stops it (SIGTERM, like a forked try)."""


class InProcessTry:
    """Run one try in this (pool) process, watched by the process's :class:`_Watchdog`.

    The watchdog heartbeats once the claim succeeded (not while the outcome is being
    reported), and stops the try with SIGTERM -> :class:`_TryStopped` in the main thread when
    the answer says stop or ``execution_timeout`` plus a grace period passed; a try that does
    not end ``KILL_GRACE`` seconds later (stuck in C code) is reported lost and this process
    exits, for Celery to replace it (the message is then redelivered and refused at claim).
    """

    def __init__(self, workload: Workload, config: WorkerConfig):
        self.w = workload
        self.config = config
        self.watchdog = _Watchdog.of_this_process(config)
        self.watch = TryWatch(
            workload,
            kill=lambda why: self.watchdog.stop(self, why),
            heartbeat=lambda: _heartbeat(self.watchdog.client, workload, os.getpid()),
            every=config.heartbeat_sec,
        )
        self.finished = False  # set by the try's thread when it ends
        self.terminated = False  # a SIGTERM that was not ours (Celery shutting down)

    @property
    def stop_reason(self) -> str | None:
        return self.watch.stop_reason

    def run(self) -> str:
        log.info(
            "running %s.%s of %s, try %s (task instance %s)",
            self.w.dag_id,
            self.w.task_id or self.w.kind,
            self.w.run_id,
            self.w.try_number,
            self.w.ti_id,
        )
        main = threading.current_thread() is threading.main_thread()
        old = signal.signal(signal.SIGTERM, self._on_term) if main else None
        watchdog = self.watchdog
        watchdog.watch(self)
        runner = TaskRunner(
            _WatchedClient(_client(self.config.api_url), self),
            lambda w: resolve_dag(w, self.config.dags_folder),
            self.config.log_folder,
            ship_log=True,
        )
        state: str | None = None
        try:
            state = runner.run(self.w)
        except (AuthenticationFailed, NotFound) as exc:
            log.error(
                "refused workload %s (task instance %s): %s", self.w.task_id, self.w.ti_id, exc
            )
        except _TryStopped:
            log.warning("try of %s stopped: %s", self.w.task_id, self.stop_reason)
        except TryLost as exc:
            path = _try_log_path(self.w, self.config)
            _report_lost(self.w, path, str(exc), _client(self.config.api_url, retry_for=30.0))
        finally:
            watchdog.release(self)
            if main:
                signal.signal(signal.SIGTERM, old)
        if self.w.kind == "callback":
            return "ran"
        if self.watch.claimed_at is None:
            return "refused"
        if state is None and (self.stop_reason or self.terminated):
            why = self.stop_reason or "signal SIGTERM"
            # Stopped by its watchdog (timeout, moved away): failed; the worker shutting down
            # under it: lost.
            outcome = Outcome.FAILED if self.stop_reason else Outcome.LOST
            path = _try_log_path(self.w, self.config)
            _report_lost(self.w, path, why, _client(self.config.api_url), outcome=outcome)
        path = _try_log_path(self.w, self.config)
        if runner.log_shipped is None or _size(path) != runner.log_shipped:
            _upload_log(self.w, self.config, path)  # lines after the outcome (callbacks...)
        if self.terminated:
            os.kill(os.getpid(), signal.SIGTERM)  # what the pool process was told, now
        return "ran" if state is not None else "lost"

    def _on_term(self, signum: int, frame: Any) -> None:
        if self.finished:
            return
        if self.stop_reason is None:
            self.terminated = True
        raise _TryStopped(f"task process received signal {signum}")


class _Watchdog:
    """One thread per pool process watching the try that runs there now.

    It lives as long as the process (a thread per try cost two context switches and a
    wake-up each): starting a try wakes it only when it was idle, and a try's end does not
    wake it at all; it finds out at its next due time (a heartbeat interval later).
    """

    _mine: tuple[int, _Watchdog] | None = None

    def __init__(self, hb_every: float, api_url: str):
        self.hb_every = hb_every
        self.api_url = api_url
        self.cond = threading.Condition()
        self.current: InProcessTry | None = None
        self.idle = False
        self.client = HttpExecutionClient(api_url, retry_for=self.hb_every)
        threading.Thread(target=self._loop, name="tradewind-try-watchdog", daemon=True).start()

    @classmethod
    def of_this_process(cls, config: WorkerConfig) -> _Watchdog:
        mine = cls._mine
        if mine is None or mine[0] != os.getpid():  # none yet, or inherited through a fork
            mine = cls._mine = (
                os.getpid(),
                cls(max(config.heartbeat_sec, 0.1), config.api_url),
            )
        return mine[1]

    def watch(self, t: InProcessTry) -> None:
        with self.cond:
            self.current = t
            if self.idle:
                self.cond.notify()

    def release(self, t: InProcessTry) -> None:
        t.finished = True  # first: a stop decided from now on is dropped, by _stop or _on_term
        with self.cond:  # and a SIGTERM sent just before is delivered before we go on
            if self.current is t:
                self.current = None

    def _loop(self) -> None:
        while True:
            with self.cond:
                t = self.current
                if t is None:
                    self.idle = True
                    self.cond.wait()
                    self.idle = False
                    continue
                # Not claimed yet: look again a heartbeat interval later (a claim wakes no one).
                wait = t.watch.wait()
                wait = self.hb_every if wait is None else min(wait, self.hb_every)
                if wait > 0:
                    self.cond.wait(wait)
                    continue
            t.watch.tick()

    def stop(self, t: InProcessTry, reason: str) -> None:
        """Stop the try (SIGTERM to this process); if it is stuck, report it lost and exit."""
        client = self.client
        with self.cond:
            if t.finished:
                return
            os.kill(os.getpid(), signal.SIGTERM)  # under the lock: still this try's handler
        give_up = time.monotonic() + KILL_GRACE
        while time.monotonic() < give_up:
            if t.finished:
                return
            time.sleep(0.05)
        why = f"{reason}; it did not stop within {KILL_GRACE:g} s"
        path = _try_log_path(t.w, t.config)
        _report_lost(t.w, path, why, client, upload=t.config, outcome=Outcome.FAILED)
        log.error("try of %s did not stop: ending this pool process", t.w.task_id)
        os._exit(1)


class _WatchedClient:
    """The try's HTTP client, telling its watchdog when the claim succeeded and when the
    outcome is being reported (a heartbeat then would see the new state and stop the try)."""

    def __init__(self, client: HttpExecutionClient, watched: InProcessTry):
        self._client = client
        self._watched = watched

    def claim(self, *args: Any) -> Any:
        answer = self._client.claim(*args)
        self._watched.watch.claimed()
        return answer

    def __getattr__(self, name: str) -> Any:
        if name in _REPORTS:
            self._watched.watch.reporting_outcome()
        return getattr(self._client, name)


class TrySupervisor:
    """Fork a child for one try, serve its execution-API calls, heartbeat, kill it when told.

    The child reaches the API only through this process (JSON over a socket pair), so every
    try reuses this process's keep-alive HTTP connection instead of opening its own, and
    this process knows when the claim succeeded (start heartbeating) and when the outcome is
    being reported (stop, or the heartbeat would see the new state and kill the child).
    """

    def __init__(self, workload: Workload, config: WorkerConfig):
        self.w = workload
        self.config = config
        self.claimed = False
        self.watch: TryWatch | None = None

    def run(self) -> str:
        log.info(
            "running %s.%s of %s, try %s (task instance %s)",
            self.w.dag_id,
            self.w.task_id or self.w.kind,
            self.w.run_id,
            self.w.try_number,
            self.w.ti_id,
        )
        ours, theirs = multiprocessing.Pipe(duplex=True)
        # Frozen objects are skipped by the child's garbage collector, which would otherwise
        # touch (and so copy) most pages of this process: ~20 ms of a trivial try.
        gc.freeze()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            ours.close()
            _child_main(self.w, self.config, theirs)
        gc.unfreeze()
        theirs.close()
        try:
            status = self._supervise(pid, ours)
        finally:
            ours.close()
        return self._after(status)

    def _warm_up(self) -> None:
        """Import the DAG file in this long-lived process after a verified try, so the next
        forked try starts warm. Never before a claim: a forged message must import nothing."""
        folder = os.path.realpath(self.config.dags_folder) + os.sep
        if os.path.realpath(self.w.fileloc).startswith(folder):
            with contextlib.suppress(Exception):
                resolve_dag(self.w, self.config.dags_folder)

    def _supervise(self, pid: int, conn: Connection) -> int:
        pidfd = os.pidfd_open(pid)
        client = _client(self.config.api_url, retry_for=self.config.heartbeat_sec)
        self.watch = TryWatch(
            self.w,
            kill=lambda why: stop_child(pid, pidfd, KILL_GRACE),
            heartbeat=lambda: _heartbeat(client, self.w, pid),
            every=self.config.heartbeat_sec,
        )
        fds: list[Any] = [pidfd, conn]
        try:
            while True:
                ready, _, _ = select.select(fds, [], [], self.watch.wait())
                if pidfd in ready:
                    break
                if conn in ready and not self._serve(conn):
                    fds = [pidfd]  # the child closed its end: only its exit is left
                if self.watch.tick():
                    break
            _, status = os.waitpid(pid, 0)
            return status
        finally:
            os.close(pidfd)

    def _serve(self, conn: Connection) -> bool:
        """Answer one call of the child over HTTP; False when the child closed the pipe."""
        try:
            msg = _pipe.recv(conn)
        except (EOFError, OSError, ValueError):
            return False
        method = msg.get("method")
        args = msg.get("args") or []
        reply: dict[str, Any]
        if not args or args[0] != self.w.ti_id:
            reply = _pipe.error_reply(ExecutionAPIError(f"call {method!r} refused"))
            reply["id"] = msg.get("id")
        else:
            if method in _REPORTS:
                # Reporting its outcome: a heartbeat now would see the new state, answer
                # "stop" and kill a child that did nothing wrong.
                assert self.watch is not None
                self.watch.reporting_outcome()
            reply = _pipe.serve_call(_client(self.config.api_url), msg)
            if method == "claim" and "result" in reply and self.watch is not None:
                self.claimed = True
                self.watch.claimed()
        with contextlib.suppress(OSError):
            _pipe.send(conn, reply)
        return True

    def _after(self, status: int) -> str:
        if not self.claimed:
            return "refused"
        path = _try_log_path(self.w, self.config)
        result = "ran"
        why = self.watch.lost_reason(status) if self.watch is not None else None
        if why:
            # The try's own process died or was stopped (timeout, moved away): it failed;
            # its calls of the execution API failed (EXIT_LOST): it was lost.
            lost = os.waitstatus_to_exitcode(status) == EXIT_LOST and not (
                self.watch and self.watch.stop_reason
            )
            outcome = Outcome.LOST if lost else Outcome.FAILED
            _report_lost(self.w, path, why, _client(self.config.api_url), outcome=outcome)
            result = "lost"
        _upload_log(self.w, self.config, path)
        self._warm_up()
        return result


def _child_main(
    workload: Workload, config: WorkerConfig, conn: Connection
) -> None:  # pragma: no cover
    """The try's own process: run it, then exit without returning into Celery's code."""
    code = 1
    try:
        die_with_parent()
        signal.signal(signal.SIGTERM, term_child)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        runner = TaskRunner(
            PipeClient(conn), lambda w: resolve_dag(w, config.dags_folder), config.log_folder
        )
        try:
            runner.run(workload)
        except (AuthenticationFailed, NotFound) as exc:
            log.error(
                "refused workload %s.%s (task instance %s try %s): %s",
                workload.dag_id,
                workload.task_id,
                workload.ti_id,
                workload.try_number,
                exc,
            )
        code = 0
    except TryLost:  # already logged by the runner
        code = EXIT_LOST
    except BaseException:  # noqa: BLE001 - reported through the exit code
        log.exception("task process failed")
    finally:
        os._exit(code)


def report_worker_lost(args: Any, why: str, config: WorkerConfig) -> None:
    """A pool process died mid-try: say so in the try's log, upload it, report the try lost."""
    workload = Workload.from_json(args[0])
    if workload.kind == "callback" or not workload.token:
        return
    path = _try_log_path(workload, config)
    if not path.exists():
        return  # never claimed here: nothing ran
    client = _client(config.api_url, retry_for=5.0)
    _report_lost(workload, path, why, client, upload=config)
