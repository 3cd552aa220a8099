"""Writing a try's log: one JSON line per record, in the file ``core/log_files.py`` names."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tradewind.core.masking import RedactingFilter, redact

TASK_LOGGER = "tradewind.task"


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, event, logger (Airflow 3's structured log)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            "logger": record.name,
        }
        if record.exc_info:
            entry["error_detail"] = self.formatException(record.exc_info)
        if record.exc_text:
            entry["error_detail"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


class _ThreadFilter(logging.Filter):
    """Passes the records of one thread (``mine``), or those of every other thread."""

    def __init__(self, thread: int, mine: bool):
        super().__init__()
        self.thread, self.mine = thread, mine

    def filter(self, record: logging.LogRecord) -> bool:
        return (record.thread == self.thread) is self.mine


class _StreamToLogger:
    """A file-like object sending ``print`` output of the try's thread into the task log;
    other threads' output (a triggerer or scheduler in the same process) goes where it went."""

    def __init__(self, logger: logging.Logger, level: int, thread: int, elsewhere: Any):
        self.logger = logger
        self.level = level
        self.thread = thread
        self.elsewhere = elsewhere
        self._buf = ""

    def write(self, data: str) -> int:
        if threading.get_ident() != self.thread:
            return int(self.elsewhere.write(data))
        self._buf += data
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            self.logger.log(self.level, "%s", line)
        return len(data)

    def flush(self) -> None:
        if threading.get_ident() != self.thread:
            self.elsewhere.flush()
            return
        if self._buf:
            self.logger.log(self.level, "%s", self._buf)
            self._buf = ""

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("task output is redirected to the task log")


@contextmanager
def task_log(path: Path, echo: bool = False) -> Iterator[logging.Logger]:
    """Send the task logger, the root logger and stdout/stderr of this thread into ``path``
    for one try.

    Only the records and output of the thread that runs the try: in a process that runs
    other work too (``dags test`` with its triggerer, the in-process executor under a
    scheduler), their lines keep going to the process's own output, not into the try's log.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    me = threading.get_ident()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonLineFormatter())
    handler.addFilter(_ThreadFilter(me, mine=True))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    logger = logging.getLogger(TASK_LOGGER)
    old_level = root.level
    # For the try, the root logger writes its records only to its file (and the echo): not
    # also to the process's own output (a Celery worker's, a scheduler's), at the cost of a
    # second format; the process's handlers keep the other threads' records.
    old_handlers = root.handlers[:]
    others = _ThreadFilter(me, mine=False)
    for h in old_handlers:
        h.addFilter(others)
    root.handlers = [handler, *old_handlers]
    if old_level != logging.INFO:  # setLevel clears the cache of every logger: not for free
        root.setLevel(logging.INFO)
    if echo:
        echo_handler = logging.StreamHandler(sys.__stderr__)
        echo_handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s - %(message)s"))
        echo_handler.addFilter(_ThreadFilter(me, mine=True))
        echo_handler.addFilter(RedactingFilter())
        root.addHandler(echo_handler)
    old_out, old_err = sys.stdout, sys.stderr
    sys.stdout = _StreamToLogger(logger, logging.INFO, me, old_out)
    sys.stderr = _StreamToLogger(logger, logging.WARNING, me, old_err)
    try:
        yield logger
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = old_out, old_err
        for h in old_handlers:
            h.removeFilter(others)
        root.handlers = old_handlers
        if root.level != old_level:
            root.setLevel(old_level)
        handler.close()


def append_line(path: Path, level: str, event: str) -> None:
    """Append one structured line (used by supervisors for crashes and timeouts)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "level": level,
        "event": redact(event),
        "logger": "tradewind.supervisor",
    }
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")
