"""Find where in a user's DAG file an object is being defined, for error messages."""

from __future__ import annotations

import os
import sys

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


_OURS: dict[str, bool] = {}  # code file name -> inside the tradewind package (or frozen)


def _ours(filename: str) -> bool:
    found = _OURS.get(filename)
    if found is None:
        found = os.path.abspath(filename).startswith(_PKG_DIR) or filename.startswith("<frozen")
        _OURS[filename] = found
    return found


def definition_site() -> tuple[str | None, int | None]:
    """Return (file, line) of the innermost caller frame outside the tradewind package."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not _ours(filename):
            return filename, frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return None, None
