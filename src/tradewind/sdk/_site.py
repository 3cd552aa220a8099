"""Find where in a user's DAG file an object is being defined, for error messages."""

from __future__ import annotations

import os
import sys

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def definition_site() -> tuple[str | None, int | None]:
    """Return (file, line) of the innermost caller frame outside the tradewind package."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not os.path.abspath(filename).startswith(_PKG_DIR) and not filename.startswith(
            "<frozen"
        ):
            return filename, frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return None, None
