"""The metrics relay: StatsD and Prometheus recorded in a small helper process, not in the
component that emits them.

Recording a metric costs 20-60 microseconds of Python (a StatsD line formatted, a Prometheus
value written to its multiprocess file under two locks), and in the scheduler those
microseconds hold the interpreter lock the scheduler needs for its next hop: measured with
py-spy on W1, the metrics thread held it ~4 % of the time, and the fan-out took ~9 % longer
with metrics on. :class:`RelayBackend` sends the raw records instead (one ``marshal`` frame
per hand-over down a non-blocking pipe, ~0.3 microsecond a record) to ``python -m
tradewind.observability.relay``, which builds the real back ends from the same settings and
records them there, at a lower CPU priority.

The helper starts with the component (``setup_observability``), reads until the pipe closes
(the component exited, even by ``kill -9``) and then flushes and exits. Its Prometheus files
carry its own pid, so ``/metrics`` adds them up like any other process's. If it dies, the
next hand-over starts a new one; while the pipe is full, frames wait in memory (up to
:data:`MOST_WAITING` bytes, then they are dropped and a warning logged): the emitter never
blocks. ``[metrics] relay_on = False`` records in the component itself instead.
"""

from __future__ import annotations

import contextlib
import json
import logging
import marshal
import os
import select
import struct
import subprocess
import sys
import time
import weakref
from typing import Any

from tradewind.core.metrics import MetricsBackend, Tags

log = logging.getLogger(__name__)

COUNTER, GAUGE, TIMER = 0, 1, 2
MOST_WAITING = 8 << 20  # bytes of frames kept while the helper does not read
RESTART_AFTER = 5.0  # seconds between attempts to start a helper that died
_HEADER = struct.Struct("<I")
_SYNC = _HEADER.pack(0)  # an empty frame: flush and answer one byte

_relays: weakref.WeakSet[RelayBackend] = weakref.WeakSet()
_inherited: list[subprocess.Popen[bytes]] = []


class RelayBackend(MetricsBackend):
    """Queues records; :meth:`flush` writes them as one frame to the helper process.

    ``spec`` is what the helper builds: ``{"statsd": {...}, "prometheus": {...},
    "allow": [...], "block": [...]}`` (see :func:`build_inner`).
    """

    enabled = True

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self._records: list[tuple[int, str, float, dict[str, str] | None]] = []
        self._out = bytearray()  # frames not yet taken by the pipe
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid = os.getpid()
        self._next_start = 0.0
        self._dropped = 0
        self._owed = 0  # syncs not answered yet
        _relays.add(self)

    # The emitting side (called by Buffered's thread, one at a time).
    def counter(self, name: str, value: float, tags: Tags | None) -> None:
        self._records.append((COUNTER, name, value, tags))  # type: ignore[arg-type]

    def gauge(self, name: str, value: float, tags: Tags | None) -> None:
        self._records.append((GAUGE, name, value, tags))  # type: ignore[arg-type]

    def timer(self, name: str, seconds: float, tags: Tags | None) -> None:
        self._records.append((TIMER, name, seconds, tags))  # type: ignore[arg-type]

    def start(self) -> None:
        """Start the helper process now (a component does, at start, so the first metrics
        do not wait for it)."""
        if self._pid != os.getpid():
            self._forget_inherited()
        if self._proc is not None and self._proc.poll() is None:
            return
        if time.monotonic() < self._next_start:
            return
        self._next_start = time.monotonic() + RESTART_AFTER
        if self._proc is not None:
            log.warning("the metrics relay exited (%s); starting another", self._proc.returncode)
            self._close_pipes()
        try:
            self._proc = subprocess.Popen(
                # -P: the component's working directory is not put on the helper's path
                [
                    sys.executable,
                    "-P",
                    "-m",
                    "tradewind.observability.relay",
                    json.dumps(self.spec),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                close_fds=True,
            )
        except OSError:
            log.warning("the metrics relay could not start", exc_info=True)
            self._proc = None
            return
        assert self._proc.stdin is not None
        os.set_blocking(self._proc.stdin.fileno(), False)
        self._out.clear()  # frames meant for a helper that is gone
        self._owed = 0

    def flush(self) -> None:
        if self._records:
            try:
                body = marshal.dumps(self._records)
            except ValueError:  # a tag value marshal cannot write: send them as text
                body = marshal.dumps([(k, n, float(v), _plain(t)) for k, n, v, t in self._records])
            self._records = []
            self._queue(_HEADER.pack(len(body)) + body)
        self._write()

    def sync(self) -> None:
        self.wait_recorded()

    def wait_recorded(self, timeout: float = 5.0) -> bool:
        """Flush, and wait until the helper has recorded (and sent) everything; True if it
        answered in time."""
        self.flush()
        if self._queue(_SYNC):
            self._owed += 1
        deadline = time.monotonic() + timeout
        while self._out and time.monotonic() < deadline:
            if not self._write():
                return False
            if self._out:
                time.sleep(0.001)
        proc = self._proc
        if proc is None or proc.stdout is None or self._out:
            return False
        fd = proc.stdout.fileno()
        while self._owed:  # answers to earlier syncs that timed out come first
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return False
            got = os.read(fd, 4096)
            if not got:
                return False
            self._owed = max(self._owed - len(got), 0)
        return True

    def close(self) -> None:
        if self._pid != os.getpid():
            self._forget_inherited()
            return
        if self._proc is not None:
            self.sync()
            self._close_pipes()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=5)
            self._proc = None
        _relays.discard(self)

    # Internals.
    def _queue(self, frame: bytes) -> bool:
        if len(self._out) + len(frame) > MOST_WAITING:
            self._dropped += 1
            if self._dropped in (1, 100) or self._dropped % 10000 == 0:
                log.warning("the metrics relay is not reading: %d frames dropped", self._dropped)
            return False
        self._out += frame
        return True

    def _write(self) -> bool:
        """Write what the pipe takes without blocking; False if there is no helper."""
        proc = self._proc
        if proc is None or proc.poll() is not None or self._pid != os.getpid():
            self.start()
            proc = self._proc
            if proc is None:
                self._out.clear()
                self._owed = 0
                return False
        assert proc.stdin is not None
        fd = proc.stdin.fileno()
        while self._out:
            try:
                n = os.write(fd, self._out)
            except BlockingIOError:
                return True  # full: the rest goes with a later hand-over
            except OSError:  # the helper died: a new one starts at the next hand-over
                self._out.clear()
                self._owed = 0
                return False
            del self._out[:n]
        return True

    def _close_pipes(self) -> None:
        proc = self._proc
        if proc is None:
            return
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def _forget_inherited(self) -> None:
        """In a forked child: drop the parent's helper (its pipe stays the parent's)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()  # this process's copy of the fd only
            _inherited.append(proc)  # not ours to wait for: never collected, never polled
        self._records, self._out, self._owed = [], bytearray(), 0
        self._pid = os.getpid()
        self._next_start = 0.0


def _plain(tags: Tags | None) -> dict[str, str] | None:
    return {str(k): str(v) for k, v in tags.items()} if tags else None


def _after_fork_in_child() -> None:
    # The helper's pipe belongs to the parent: a child that kept it open would keep the
    # helper alive after the parent exits.
    for relay in list(_relays):
        relay._forget_inherited()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def build_inner(spec: dict[str, Any]) -> MetricsBackend:
    """The real back ends ``spec`` names (in the helper, or in the component itself)."""
    from pathlib import Path

    from tradewind.core.metrics import Fanout, Filtered

    found: list[MetricsBackend] = []
    if "statsd" in spec:
        from tradewind.observability.statsd import StatsdBackend

        s = spec["statsd"]
        found.append(StatsdBackend(s["host"], int(s["port"]), s["prefix"], tags=s["tags"]))
    if "prometheus" in spec:
        from tradewind.observability.prometheus import PrometheusBackend, use_multiprocess_dir

        p = spec["prometheus"]
        use_multiprocess_dir(Path(p["dir"]))
        found.append(PrometheusBackend(p["prefix"]))
    inner: MetricsBackend = found[0] if len(found) == 1 else Fanout(found)
    allow, block = spec.get("allow") or [], spec.get("block") or []
    return Filtered(inner, allow, block) if (allow or block) else inner


def _read_exact(fd: int, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, n - got)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def main(argv: list[str]) -> int:
    """The helper: record every frame read from stdin until it closes."""
    logging.basicConfig(format="metrics relay: %(levelname)s %(message)s")
    with contextlib.suppress(OSError):
        os.nice(5)  # the component it serves comes first
    inner = build_inner(json.loads(argv[0]))
    record = (inner.counter, inner.gauge, inner.timer)
    fd_in, fd_out = sys.stdin.fileno(), sys.stdout.fileno()
    try:
        while True:
            (size,) = _HEADER.unpack(_read_exact(fd_in, _HEADER.size))
            if size == 0:  # sync
                inner.flush()
                os.write(fd_out, b"k")
                continue
            for kind, name, value, tags in marshal.loads(_read_exact(fd_in, size)):
                try:
                    record[kind](name, value, tags)
                except Exception:  # noqa: BLE001 - a bad metric must not stop the others
                    log.warning("metric %s could not be recorded", name, exc_info=True)
            inner.flush()
    except (EOFError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            inner.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
