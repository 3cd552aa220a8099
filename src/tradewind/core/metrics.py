"""The metrics seam: counters, gauges and timers with tags, sent to whatever back ends the
settings chose (StatsD, Prometheus, OpenTelemetry), or nowhere.

Call sites use the module functions (``metrics.incr("ti_successes", tags={...})``); they go
to one process-wide :class:`MetricsBackend`, a no-op until ``configure`` installs a real one
(``tradewind.observability.setup`` does, from ``[metrics]`` settings, at component start).
Off, a call costs one function call and one attribute look-up; code that would compute tags
or values only for metrics asks :func:`enabled` first. On, the installed back end is
:class:`Buffered`: a call appends one tuple (well under a microsecond) and a daemon thread
hands the metrics to the real back ends a few times a second, so formatting, StatsD datagrams
and Prometheus file writes stay off the path between one task and the next.

Names are Airflow's (``dagrun.duration.success``) and tags carry the variable parts
(``dag_id``); ``core/metric_names.py`` lists every metric Tradewind emits, with the legacy
StatsD name that embeds those parts (``dagrun.duration.success.<dag_id>``).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Tags = Mapping[str, str]
log = logging.getLogger(__name__)


class MetricsBackend:
    """Where metrics go; this base class drops them (the default when metrics are off)."""

    enabled = False

    def counter(self, name: str, value: float, tags: Tags | None) -> None:
        """Add ``value`` to a counter."""

    def gauge(self, name: str, value: float, tags: Tags | None) -> None:
        """Set a gauge to ``value``."""

    def timer(self, name: str, seconds: float, tags: Tags | None) -> None:
        """Record one duration (a timer in StatsD, a histogram elsewhere)."""

    def flush(self) -> None:
        """Send what the back end holds back (StatsD packs many lines into one datagram)."""

    def sync(self) -> None:
        """Flush, and return once what was flushed is recorded (a back end that records in
        another process waits for it)."""
        self.flush()

    def close(self) -> None:
        """Flush and release what the back end holds (sockets, exporter threads)."""


class Fanout(MetricsBackend):
    """Several back ends at once (StatsD and Prometheus, say)."""

    enabled = True

    def __init__(self, backends: Sequence[MetricsBackend]):
        self.backends = list(backends)

    def counter(self, name: str, value: float, tags: Tags | None) -> None:
        for b in self.backends:
            b.counter(name, value, tags)

    def gauge(self, name: str, value: float, tags: Tags | None) -> None:
        for b in self.backends:
            b.gauge(name, value, tags)

    def timer(self, name: str, seconds: float, tags: Tags | None) -> None:
        for b in self.backends:
            b.timer(name, seconds, tags)

    def flush(self) -> None:
        for b in self.backends:
            b.flush()

    def sync(self) -> None:
        for b in self.backends:
            b.sync()

    def close(self) -> None:
        for b in self.backends:
            b.close()


class Filtered(MetricsBackend):
    """Pass on only the metrics ``metrics_allow_list`` / ``metrics_block_list`` let through.

    Both are name prefixes, as Airflow's: with an allow list only names starting with one of
    its entries are sent; a name starting with a block-list entry is never sent. The verdict
    is cached per name, so filtering costs a dict look-up.
    """

    enabled = True

    def __init__(self, inner: MetricsBackend, allow: Sequence[str] = (), block: Sequence[str] = ()):
        self.inner = inner
        self.allow = tuple(a for a in allow if a)
        self.block = tuple(b for b in block if b)
        self._verdict: dict[str, bool] = {}

    def passes(self, name: str) -> bool:
        """Whether ``name`` is sent."""
        ok = self._verdict.get(name)
        if ok is None:
            ok = (not self.allow or name.startswith(self.allow)) and not (
                self.block and name.startswith(self.block)
            )
            self._verdict[name] = ok
        return ok

    def counter(self, name: str, value: float, tags: Tags | None) -> None:
        if self.passes(name):
            self.inner.counter(name, value, tags)

    def gauge(self, name: str, value: float, tags: Tags | None) -> None:
        if self.passes(name):
            self.inner.gauge(name, value, tags)

    def timer(self, name: str, seconds: float, tags: Tags | None) -> None:
        if self.passes(name):
            self.inner.timer(name, seconds, tags)

    def flush(self) -> None:
        self.inner.flush()

    def sync(self) -> None:
        self.inner.sync()

    def close(self) -> None:
        self.inner.close()


class Recorder(MetricsBackend):
    """Keeps every metric in memory: for tests and ``dags test``-style tools."""

    enabled = True

    def __init__(self) -> None:
        self.records: list[tuple[str, str, float, dict[str, str]]] = []

    def counter(self, name: str, value: float, tags: Tags | None) -> None:
        self.records.append(("counter", name, value, dict(tags or {})))

    def gauge(self, name: str, value: float, tags: Tags | None) -> None:
        self.records.append(("gauge", name, value, dict(tags or {})))

    def timer(self, name: str, seconds: float, tags: Tags | None) -> None:
        self.records.append(("timer", name, seconds, dict(tags or {})))

    def named(self, name: str) -> list[tuple[str, str, float, dict[str, str]]]:
        """The records of one metric name."""
        return [r for r in self.records if r[1] == name]


# The metrics thread hands over for at most this long at a time, then sleeps this long.
SLICE_SECONDS = 0.0005
SLICE_PAUSE = 0.004

Record = tuple[Callable[[str, float, "Tags | None"], None], str, float, "dict[str, str] | None"]


class Buffered(MetricsBackend):
    """Takes metrics off the caller's path: a call appends one tuple; a daemon thread hands
    them to ``inner`` every ``interval`` seconds (sooner past ``most`` waiting), then flushes
    it. The thread starts on the first metric, so a forked process that emits nothing (a
    LocalExecutor worker) has none; a fork waits for a hand-over in progress, and the child
    drops the parent's waiting metrics (the parent sends them).
    """

    enabled = True

    def __init__(self, inner: MetricsBackend, interval: float = 0.2, most: int = 2000):
        self.inner = inner
        self.interval = interval
        self.most = most
        self._pending: deque[Record] = deque()
        self._counter, self._gauge, self._timer = inner.counter, inner.gauge, inner.timer
        self._lock = threading.Lock()  # held while handing over: inner is used by one thread
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._pid = os.getpid()

    def counter(self, name: str, value: float, tags: Tags | None) -> None:
        self._pending.append((self._counter, name, value, dict(tags) if tags else None))
        if self._thread is None or len(self._pending) > self.most:
            self._kick()

    def gauge(self, name: str, value: float, tags: Tags | None) -> None:
        self._pending.append((self._gauge, name, value, dict(tags) if tags else None))
        if self._thread is None or len(self._pending) > self.most:
            self._kick()

    def timer(self, name: str, seconds: float, tags: Tags | None) -> None:
        self._pending.append((self._timer, name, seconds, dict(tags) if tags else None))
        if self._thread is None or len(self._pending) > self.most:
            self._kick()

    def _kick(self) -> None:
        if self._closed:
            self._pending.clear()  # closed: nothing would ever send them
            return
        if self._thread is not None:
            self._wake.set()
            return
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._run, name="tradewind-metrics", daemon=True
                )
                self._thread.start()
                _running.append(self)

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            self._wake.clear()
            # What waits now, in slices of SLICE_SECONDS with a pause after each: the thread
            # that emitted them gets the GIL back at once, instead of after the interpreter's
            # switch interval (5 ms) at each of its I/O waits while a backlog is handed over
            # (a new Prometheus series costs ~20 values to create: ~35 ms for W1's 100 tasks).
            # Then the thread waits again, even if more arrived meanwhile: one hand-over per
            # interval, not one per metric of a busy emitter.
            more = bool(self._pending)
            while more and not self._closed:
                with self._lock:
                    more = self._hand_over(time.perf_counter() + SLICE_SECONDS)
                if more:
                    time.sleep(SLICE_PAUSE)

    def flush(self) -> None:
        """Hand every waiting metric to the back ends now, and flush them (and wait until a
        back end in another process has recorded them)."""
        with self._lock:
            self._hand_over()
            with contextlib.suppress(Exception):
                self.inner.sync()

    def _hand_over(self, until: float | None = None) -> bool:
        """Hand the metrics waiting now to the back ends (only until ``until``, a
        ``perf_counter`` time, if given); return whether some are left for later."""
        pending = self._pending
        clock = time.perf_counter
        try:
            for _ in range(len(pending)):  # those waiting now: the lock is held for a bound time
                try:
                    fn, name, value, tags = pending.popleft()
                except IndexError:
                    break
                try:
                    fn(name, value, tags)
                except Exception:  # noqa: BLE001 - a bad metric must not stop the others
                    log.warning("metric %s could not be recorded", name, exc_info=True)
                if until is not None and clock() >= until:
                    return True  # some of those waiting at the start may be left
            return False
        finally:
            with contextlib.suppress(Exception):
                self.inner.flush()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self.flush()
        if self in _running:
            _running.remove(self)
        self.inner.close()


# Buffered back ends whose thread runs in this process: the fork hooks look only at these,
# so a fork in a process that sends no metrics (a worker forking a task) costs nothing.
_running: list[Buffered] = []
_held: list[Buffered] = []


def _before_fork() -> None:
    _held[:] = _running
    for b in _held:
        b._lock.acquire()  # no hand-over is half done in the child


def _after_fork_in_parent() -> None:
    for b in _held:
        b._lock.release()
    _held.clear()


def _after_fork_in_child() -> None:
    for b in _running:
        b._lock = threading.Lock()
        b._wake = threading.Event()
        b._pending.clear()  # the parent sends them
        b._thread = None  # not copied by fork; started again by a metric
        b._pid = os.getpid()
    _running.clear()
    _held.clear()


def _flush_at_exit() -> None:
    for b in list(_running):
        if b._pid == os.getpid() and not b._closed:
            with contextlib.suppress(Exception):
                b.flush()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )
atexit.register(_flush_at_exit)


_NOOP = MetricsBackend()
_backend: MetricsBackend = _NOOP


def configure(backend: MetricsBackend | None) -> MetricsBackend:
    """Install ``backend`` for this process (None: metrics off); return the previous one."""
    global _backend
    previous = _backend
    _backend = backend if backend is not None else _NOOP
    return previous


def backend() -> MetricsBackend:
    """The back end in use."""
    return _backend


def enabled() -> bool:
    """Whether any back end is on (to skip work done only for metrics)."""
    return _backend.enabled


def incr(name: str, count: float = 1, tags: Tags | None = None) -> None:
    """Add ``count`` to the counter ``name``."""
    _backend.counter(name, count, tags)


def gauge(name: str, value: float, tags: Tags | None = None) -> None:
    """Set the gauge ``name``."""
    _backend.gauge(name, value, tags)


def timing(name: str, seconds: float, tags: Tags | None = None) -> None:
    """Record a duration in seconds (StatsD receives milliseconds, as Airflow sends)."""
    _backend.timer(name, seconds, tags)


class _Timed:
    """The ``with`` block of :func:`timer` while metrics are on."""

    __slots__ = ("name", "start", "tags")

    def __init__(self, name: str, tags: Tags | None):
        self.name, self.tags, self.start = name, tags, 0.0

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        _backend.timer(self.name, time.perf_counter() - self.start, self.tags)


_UNTIMED = contextlib.nullcontext()


def timer(name: str, tags: Tags | None = None) -> contextlib.AbstractContextManager[Any]:
    """Time the ``with`` block into ``name`` (off: a shared no-op context)."""
    if not _backend.enabled:
        return _UNTIMED
    return _Timed(name, tags)
