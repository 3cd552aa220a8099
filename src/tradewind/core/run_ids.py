"""Which run ids a user may give: Airflow's ``[scheduler] allowed_run_id_pattern``."""

from __future__ import annotations

import re

from tradewind.errors import InvalidInput

#: Airflow's default ``[scheduler] allowed_run_id_pattern``: letters, digits and ``_.~:+-``.
DEFAULT_RUN_ID_PATTERN = r"^[A-Za-z0-9_.~:+-]+$"
#: Never allowed, whatever the pattern says: these would make a run id a path or hide it.
_FORBIDDEN = ("/", "\\", "\x00", "..")
MAX_RUN_ID_LENGTH = 250


def validate_run_id(run_id: str, pattern: str = DEFAULT_RUN_ID_PATTERN) -> str:
    """Return ``run_id`` if it is allowed, else raise InvalidInput naming the rule.

    Args:
        run_id: the run id a user or a generator gave.
        pattern: the deployment's ``[scheduler] allowed_run_id_pattern``.
    """
    if not isinstance(run_id, str) or not run_id:
        raise InvalidInput("run_id must be a non-empty string")
    if len(run_id) > MAX_RUN_ID_LENGTH:
        raise InvalidInput(f"run_id is longer than {MAX_RUN_ID_LENGTH} characters")
    bad = next((f for f in _FORBIDDEN if f in run_id), None)
    if bad is not None:
        raise InvalidInput(f"run_id {run_id!r} is not allowed: it contains {bad!r}")
    try:
        matched = re.fullmatch(pattern, run_id) is not None
    except re.error as exc:
        raise InvalidInput(
            f"[scheduler] allowed_run_id_pattern {pattern!r} is invalid: {exc}"
        ) from None
    if not matched:
        raise InvalidInput(
            f"run_id {run_id!r} does not match [scheduler] allowed_run_id_pattern {pattern!r}"
        )
    return run_id
