"""Writing a try's log: one JSON line per record, in the file ``core/log_files.py`` names."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

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


class _StreamToLogger:
    """A file-like object sending ``print`` output of tasks into the task log."""

    def __init__(self, logger: logging.Logger, level: int):
        self.logger = logger
        self.level = level
        self._buf = ""

    def write(self, data: str) -> int:
        self._buf += data
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            self.logger.log(self.level, "%s", line)
        return len(data)

    def flush(self) -> None:
        if self._buf:
            self.logger.log(self.level, "%s", self._buf)
            self._buf = ""

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("task output is redirected to the task log")


@contextmanager
def task_log(path: Path, echo: bool = False) -> Iterator[logging.Logger]:
    """Send the task logger, the root logger and stdout/stderr into ``path`` for one try."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonLineFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    logger = logging.getLogger(TASK_LOGGER)
    old_level = root.level
    # For the try, the root logger writes only to its file (and the echo): not also to the
    # process's own output (a Celery worker's, a scheduler's), at the cost of a second format.
    old_handlers = root.handlers[:]
    root.handlers = [handler]
    if old_level != logging.INFO:  # setLevel clears the cache of every logger: not for free
        root.setLevel(logging.INFO)
    if echo:
        echo_handler = logging.StreamHandler(sys.__stderr__)
        echo_handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s - %(message)s"))
        echo_handler.addFilter(RedactingFilter())
        root.addHandler(echo_handler)
    old_out, old_err = sys.stdout, sys.stderr
    sys.stdout = _StreamToLogger(logger, logging.INFO)
    sys.stderr = _StreamToLogger(logger, logging.WARNING)
    try:
        yield logger
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = old_out, old_err
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
