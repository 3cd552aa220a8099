"""The task log store: reading a try's log file as structured lines or as plain text.

The files are written by the worker (``worker/logs.py``), one JSON line per record, where
``core/log_files.py`` says; the REST API, the UI and the CLI read them through here.
"""

from __future__ import annotations

import json
from pathlib import Path

from tradewind.core.masking import redact


def read_log_lines(path: Path) -> list[dict[str, object]]:
    """Read a log file as structured lines (plain text lines become ``event``s)."""
    out: list[dict[str, object]] = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return out
    for raw in text.splitlines():
        try:
            item = json.loads(raw)
            if not isinstance(item, dict):
                raise ValueError
        except ValueError:
            item = {"event": raw, "timestamp": None, "level": "info"}
        item["event"] = redact(str(item.get("event", "")))
        if item.get("error_detail"):
            item["error_detail"] = redact(str(item["error_detail"]))
        out.append(item)
    return out


def log_as_text(lines: list[dict[str, object]]) -> str:
    """Structured log lines as plain text, each traceback under its line (as Airflow prints)."""
    out: list[str] = []
    for line in lines:
        stamp = str(line.get("timestamp") or "")
        level = str(line.get("level") or "").upper()
        prefix = f"[{stamp}] {level} - " if stamp else ""
        out.append(f"{prefix}{line.get('event', '')}")
        if line.get("error_detail"):
            out.append(str(line["error_detail"]).rstrip("\n"))
    return "\n".join(out) + ("\n" if out else "")
