"""Wake the scheduler when something happened (a run triggered, a task cleared, a DAG parsed).

One node: a datagram to each scheduler's loopback port (its port file is in
``$TRADEWIND_HOME/run``). Many nodes on PostgreSQL: ``NOTIFY tradewind_scheduler`` as well.
The scheduler also polls slowly, so a lost signal only delays, never loses, work.
"""

from __future__ import annotations

import contextlib
import os
import socket
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


def wake_function(settings: Settings, db: Database) -> Callable[..., None]:
    """Return a cheap function ``wake(kind=OTHER)`` that wakes every scheduler it can reach."""
    run_dir = _run_dir(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    is_pg = db.dialect == "postgresql"

    def wake(kind: str = OTHER, notified: bool = False) -> None:
        """Wake the schedulers; ``notified``: the caller already sent the NOTIFY in its
        transaction (:func:`notify_statement`), only the local datagrams are left."""
        payload = kind.encode()[:1] or b"w"
        try:
            names = os.listdir(run_dir)
        except OSError:
            names = []
        for name in names:
            if name.startswith("scheduler-") and name.endswith(".port"):
                try:
                    port = int((run_dir / name).read_text().strip())
                    sock.sendto(payload, ("127.0.0.1", port))
                except (OSError, ValueError):
                    continue
        if is_pg and not notified:
            with contextlib.suppress(Exception), db.engine.connect() as conn:
                conn.execute(notify_statement(kind))
                conn.commit()

    return wake


def notify_statement(kind: str) -> Any:
    """``NOTIFY`` for the schedulers, to run inside a PostgreSQL transaction: delivered when it
    commits, without a connection and a commit of its own."""
    from sqlalchemy import text

    return text(f"NOTIFY {CHANNEL}, '{kind[:1] or 'w'}'")


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
        self._pg: Any = None
        if db.dialect == "postgresql":
            try:
                import psycopg

                dsn = db.engine.url.set(drivername="postgresql").render_as_string(
                    hide_password=False
                )
                self._pg = psycopg.connect(dsn, autocommit=True)
                self._pg.execute(f"LISTEN {CHANNEL}")
            except Exception:  # noqa: BLE001 - polling still covers us
                self._pg = None

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
