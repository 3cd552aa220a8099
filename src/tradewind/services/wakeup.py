"""Wake the scheduler when something happened (a run triggered, a task cleared, a DAG parsed).

One node: a datagram to each scheduler's loopback port (its port file is in
``$TRADEWIND_HOME/run``). Many nodes on PostgreSQL: ``NOTIFY tradewind_scheduler`` as well.
The scheduler also polls slowly, so a lost signal only delays, never loses, work.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tradewind.metastore.database import Database
from tradewind.settings import Settings

CHANNEL = "tradewind_scheduler"


def _run_dir(settings: Settings) -> Path:
    return settings.home / "run"


#: Wake-up kinds: a task try ended (the scheduler only needs to re-evaluate runs and queue),
#: or anything else (a trigger, clear, unpause, new DAG: a full scheduling pass).
TASK_ENDED = "t"
OTHER = "w"
#: A try deferred: for the schedulers a task end; it also wakes this host's triggerers, which
#: sleep longer while they hold no trigger.
DEFERRED = "d"
#: Only this host's triggerers (a deferral served inside the scheduler's own process).
TRIGGERERS = "r"


def wake_function(settings: Settings, db: Database) -> Callable[..., None]:
    """Return a cheap function ``wake(kind=OTHER)`` that wakes every scheduler it can reach."""
    run_dir = _run_dir(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    is_pg = db.dialect == "postgresql"

    def wake(kind: str = OTHER, notified: bool = False) -> None:
        """Wake the schedulers; ``notified``: the caller already sent the NOTIFY in its
        transaction (:func:`notify_statement`), only the local datagrams are left."""
        deferred, only_triggerers = kind in (DEFERRED, TRIGGERERS), kind == TRIGGERERS
        if deferred:
            kind = TASK_ENDED
        payload = kind.encode()[:1] or b"w"
        try:
            names = os.listdir(run_dir)
        except OSError:
            names = []
        for name in names:
            woken = (name.startswith("scheduler-") and not only_triggerers) or (
                deferred and name.startswith("triggerer-")
            )
            if woken and name.endswith(".port"):
                try:
                    port = int((run_dir / name).read_text().strip())
                    sock.sendto(payload, ("127.0.0.1", port))
                except (OSError, ValueError):
                    continue
        if is_pg and not notified and not only_triggerers:
            with contextlib.suppress(Exception), db.engine.connect() as conn:
                conn.execute(notify_statement(kind))
                conn.commit()

    return wake


def notify_statement(kind: str) -> Any:
    """``NOTIFY`` for the schedulers, to run inside a PostgreSQL transaction: delivered when it
    commits, without a connection and a commit of its own."""
    from sqlalchemy import text

    return text(f"NOTIFY {CHANNEL}, '{kind[:1] or 'w'}'")


_notify_ended: Any = None


def notify_try_ended(ti_id: int, try_number: int) -> tuple[Any, dict[str, str]]:
    """``(statement, params)`` of the ``NOTIFY`` that try ``try_number`` of ``ti_id`` ended.

    Its payload (``t:<ti_id>:<try>``) starts with :data:`TASK_ENDED`, so the schedulers read it
    as before; the Celery executor frees the try's slot from it without a query. One cached
    statement for every call (a ``NOTIFY`` text per payload would be compiled each time)."""
    global _notify_ended
    if _notify_ended is None:
        from sqlalchemy import text

        _notify_ended = text(f"SELECT pg_notify('{CHANNEL}', :payload)")
    return _notify_ended, {"payload": f"{TASK_ENDED}:{ti_id}:{try_number}"}


def _listen(db: Database) -> Any:
    """A psycopg connection (autocommit) listening on :data:`CHANNEL`; None if it cannot."""
    if db.dialect != "postgresql":
        return None
    try:
        import psycopg

        dsn = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = psycopg.connect(dsn, autocommit=True)
        conn.execute(f"LISTEN {CHANNEL}")
        return conn
    except Exception:  # noqa: BLE001 - polling still covers us
        return None


class TryEndListener:
    """What an executor whose tries report elsewhere (Celery) learns from the notifications:
    which tries ended. Only on PostgreSQL; ``available`` is False elsewhere or after the
    connection broke (the executor then asks the metastore, and calls :meth:`reconnect`)."""

    def __init__(self, db: Database, retry_every: float = 5.0):
        self._db = db
        self._pg: Any = _listen(db)
        self._retry_every = retry_every
        self._next_try = time.monotonic() + retry_every

    @property
    def available(self) -> bool:
        return self._pg is not None

    def reconnect(self) -> bool:
        """Listen again after the connection broke (at most every ``retry_every`` seconds);
        True if it listens now."""
        if self._pg is None and self._db.dialect == "postgresql":
            now = time.monotonic()
            if now >= self._next_try:
                self._next_try = now + self._retry_every
                self._pg = _listen(self._db)
        return self._pg is not None

    def filenos(self) -> list[int]:
        return [] if self._pg is None else [self._pg.fileno()]

    def drain(self) -> tuple[list[tuple[int, int]], bool]:
        """Consume pending notifications: ``(ended (ti_id, try) pairs, unsure)``; ``unsure``
        when one said something changed without saying which try (or the connection broke),
        so the caller should ask the metastore."""
        if self._pg is None:
            return [], True
        ended: list[tuple[int, int]] = []
        unsure = False
        try:
            for note in self._pg.notifies(timeout=0, stop_after=10_000):
                parts = note.payload.split(":")
                if len(parts) == 3 and parts[0] == TASK_ENDED:
                    try:
                        ended.append((int(parts[1]), int(parts[2])))
                        continue
                    except ValueError:
                        pass
                unsure = True
        except Exception:  # noqa: BLE001 - a broken connection: fall back to asking
            self.close()
            return ended, True
        return ended, unsure

    def close(self) -> None:
        if self._pg is not None:
            with contextlib.suppress(Exception):
                self._pg.close()
            self._pg = None


class TriggererWakeSocket:
    """The triggerer's side: a loopback port (file ``triggerer-<pid>.port``) that a deferral
    on this host pokes (:data:`DEFERRED`)."""

    def __init__(self, settings: Settings):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.setblocking(False)
        run_dir = _run_dir(settings)
        run_dir.mkdir(parents=True, exist_ok=True)
        self._port_file = run_dir / f"triggerer-{os.getpid()}-{id(self)}.port"
        self._port_file.write_text(str(self._sock.getsockname()[1]))

    def fileno(self) -> int:
        return self._sock.fileno()

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while self._sock.recv(64):
                pass

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._port_file.unlink()
        self._sock.close()


class WakeListener:
    """The scheduler's side: file descriptors to wait on, and draining them."""

    def __init__(self, settings: Settings, db: Database):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.setblocking(False)
        run_dir = _run_dir(settings)
        run_dir.mkdir(parents=True, exist_ok=True)
        self._port_file = run_dir / f"scheduler-{os.getpid()}.port"
        self._port_file.write_text(str(self._sock.getsockname()[1]))
        self._pg: Any = _listen(db)

    def filenos(self) -> list[int]:
        fds = [self._sock.fileno()]
        if self._pg is not None:
            fds.append(self._pg.fileno())
        return fds

    def drain(self) -> set[str]:
        """Consume pending signals; return their kinds (empty when there were none)."""
        kinds: set[str] = set()
        while True:
            try:
                data = self._sock.recv(64)
                kinds.add(data[:1].decode(errors="replace") or OTHER)
            except (BlockingIOError, OSError):
                break
        if self._pg is not None:
            try:
                for note in self._pg.notifies(timeout=0, stop_after=1000):
                    kinds.add(note.payload[:1] or OTHER)
            except Exception:  # noqa: BLE001
                pass
        return kinds

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._port_file.unlink()
        self._sock.close()
        if self._pg is not None:
            with contextlib.suppress(Exception):
                self._pg.close()
